"""Ctrl-C reaches torchrun's workers as a stop: tune_bridge.launch sends SIGINT on to them, and
torchrun neither tears them down nor reports a failure."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A worker as tune's are to a signal: SIGINT asks it to stop, and it ends cleanly when it hears one.
WORKER = textwrap.dedent(
    """
    import os, pathlib, signal, sys, time
    out = pathlib.Path(sys.argv[1])
    heard = []
    signal.signal(signal.SIGINT, lambda *_: heard.append(True))
    (out / f"ready-{os.environ['RANK']}").touch()
    deadline = time.time() + 60
    while not heard and time.time() < deadline:
        time.sleep(0.05)
    (out / f"ended-{os.environ['RANK']}").write_text("stopped" if heard else "never heard")
    """
)


def test_sigint_to_the_launcher_stops_every_worker_and_torchrun_exits_cleanly(tmp_path: Path) -> None:
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    launcher = subprocess.Popen(
        [sys.executable, "-m", "tune_bridge.launch", "--standalone", "--nproc_per_node=2", str(worker), str(tmp_path)],
        cwd=ROOT / "python-bridge",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.time() + 60
    while not all((tmp_path / f"ready-{rank}").exists() for rank in (0, 1)):
        assert launcher.poll() is None and time.time() < deadline, launcher.stdout.read() if launcher.stdout else ""
        time.sleep(0.05)
    launcher.send_signal(signal.SIGINT)
    output, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 0, output
    assert [(tmp_path / f"ended-{rank}").read_text() for rank in (0, 1)] == ["stopped", "stopped"]
