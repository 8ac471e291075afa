"""The event stream the TypeScript runner reads: one JSON object per line on stdout.

Logs go to stderr. The first event names the protocol version, so a runner and a bridge that
do not match refuse each other instead of misreading events.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

PROTOCOL_VERSION = 1


def emit(event_type: str, **fields: Any) -> None:
    # With several processes only rank 0 speaks, so the runner sees one run.
    if os.environ.get("RANK", "0") != "0":
        return
    sys.stdout.write(json.dumps({"type": event_type, **fields}) + "\n")
    sys.stdout.flush()


def hello(command: str) -> None:
    emit("hello", protocol=PROTOCOL_VERSION, command=command)
