"""Dies with its parent: a worker must never outlive the tune process that started it."""

from __future__ import annotations

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """On Linux, ask the kernel for SIGKILL when the parent exits, even if it was SIGKILLed itself
    (so no cleanup of its own could run). Elsewhere, nothing: tune then relies on execa's cleanup."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:
            pass
