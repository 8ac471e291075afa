"""python -m tune_bridge.launch <torchrun arguments>: torchrun that dies with tune and passes Ctrl-C on.

torchrun's workers die with torchrun (they call die_with_parent too); this makes torchrun itself
die with the tune process that started it, so a killed run leaves no process behind.

tune's SIGINT means "save a checkpoint at the next step and stop", which the workers do when
they get it (each step all-reduces the flag, so one rank hearing it stops them all at the same
step). torchrun would instead treat SIGINT as a failure and tear its workers down, so it is told
to leave SIGINT alone, and SIGINT is sent on to the workers, which torchrun starts in sessions of
their own (a signal to torchrun's process group does not reach them).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from torch.distributed.run import main

from .lifeline import die_with_parent

# torchrun's default, less SIGINT.
_TORCHRUN_SIGNALS = "--signals-to-handle=SIGTERM,SIGHUP,SIGQUIT"


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc (Linux, where multi-process runs run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # After the command name in parentheses (which may hold spaces): state, then the parent's pid.
        fields = stat[stat.rindex(")") + 2 :].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def _stop_workers(_signum: int, _frame: object) -> None:
    for pid in _children(os.getpid()):
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            pass


if __name__ == "__main__":
    die_with_parent()
    signal.signal(signal.SIGINT, _stop_workers)
    sys.argv[1:1] = [_TORCHRUN_SIGNALS]
    main()
