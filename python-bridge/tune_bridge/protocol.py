"""The event stream the TypeScript runner reads: one JSON object per line on stdout.

Logs go to stderr. The first event names the protocol version, so a runner and a bridge that
do not match refuse each other instead of misreading events.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROTOCOL_VERSION = 1
# The RunPlan fields this worker reads mean what they meant in this version (recipe/resolve.ts).
PLAN_VERSION = 3

_echo: Callable[[str], None] | None = None


def emit(event_type: str, **fields: Any) -> None:
    # With several processes one per node speaks (global rank 0 on node 0), so each node's tune
    # sees one run; only global rank 0 reports checkpoints and predictions (train.py).
    if os.environ.get("LOCAL_RANK", "0") != "0":
        return
    line = json.dumps({"type": event_type, **fields})
    # Stored before printed: whatever a watcher saw this node print, the others can quote.
    if _echo is not None:
        _echo(line)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def echo_to(listener: Callable[[str], None] | None) -> None:
    """Hands every line emitted from now on to `listener` too (None: to nobody): the other nodes
    quote what this one printed last if it dies (heartbeat.py)."""
    global _echo
    _echo = listener


def hello(command: str) -> None:
    emit("hello", protocol=PROTOCOL_VERSION, command=command)



class Refused(Exception):
    """Input tune will not use, said as the user's to fix (exit 2), not as a crash of the engine:
    a file that is not plain tensors (a pickle that could run code), a model that needs its own
    code when the recipe does not allow it."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


class NodeLost(Exception):
    """Another node of the run stopped answering (heartbeat.py): the machines' to fix, not tune's
    nor the recipe's."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def read_plan(path: str) -> dict[str, Any]:
    """The run's plan.json, refused unless it is the plan version this worker was written for."""
    plan: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    if plan.get("plan_version") != PLAN_VERSION:
        raise Refused("plan-version", f"{path} has plan_version {plan.get('plan_version')!r}, and this torch engine reads version {PLAN_VERSION}", "The run was started by another version of tune: resume it with that version, or start over with --restart.")
    return plan


def unsafe_file(path: object, why: str) -> Refused:
    return Refused("checkpoint-unsafe-file", f"{path} is not plain tensors, so tune does not load it: {why}", "A checkpoint tune wrote never holds such a file: the folder was altered. Resume from another checkpoint of the run, or start over with --restart.")
