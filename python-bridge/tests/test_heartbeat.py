"""The heartbeat names the node that stopped answering, through a real TCPStore as torchrun's: four
ranks of two nodes beat in this process, each with a client of its own, and some of them stop."""

from __future__ import annotations

import json
import socket
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import torch.distributed

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python-bridge"))

from tune_bridge import protocol  # noqa: E402
from tune_bridge.heartbeat import Heartbeat  # noqa: E402
from tune_bridge.protocol import NodeLost  # noqa: E402

BEAT = 0.05


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _client(port: int) -> torch.distributed.Store:
    return torch.distributed.PrefixStore("tune-heartbeat/", torch.distributed.TCPStore("127.0.0.1", port, is_master=False, timeout=timedelta(seconds=2)))


def _ranks(port: int, stale_s: float = 60.0, on_stale: list[NodeLost] | None = None) -> list[Heartbeat]:
    """Four ranks of two nodes. They share this process's protocol module, whose printed lines go
    to the rank started last: rank 2, the first of node 1, which prints node 1's lines."""
    ranks = [Heartbeat(_client(port), rank, 4, 2, f"127.0.0.1:{port}", interval_s=BEAT, stale_s=stale_s, on_stale=on_stale.append if on_stale is not None else None) for rank in range(4)]
    for rank in (0, 1, 3, 2):
        ranks[rank].start()
    return ranks


def _print(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LOCAL_RANK", "0")
    protocol.emit("step", step=5, loss=0.25)
    return json.dumps({"type": "step", "step": 5, "loss": 0.25})


def test_while_every_rank_beats_nothing_is_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _port()
    master = torch.distributed.TCPStore("127.0.0.1", port, is_master=True, wait_for_workers=False)
    ranks = _ranks(port)
    try:
        assert ranks[0].lost() is None
    finally:
        for rank in ranks:
            rank.stop()
    del master


def test_a_line_is_in_the_store_before_it_is_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    # A node killed the moment a watcher saw it print must still be quoted with that line.
    port = _port()
    master = torch.distributed.TCPStore("127.0.0.1", port, is_master=True, wait_for_workers=False)
    ranks = _ranks(port)
    reader = _client(port)
    stored_when_printed: list[str] = []

    class Watcher:
        def write(self, text: str) -> None:
            if text.strip():
                stored_when_printed.append(reader.get("said/2").decode())

        def flush(self) -> None:
            pass

    monkeypatch.setattr(sys, "stdout", Watcher())
    try:
        printed = _print(monkeypatch)
    finally:
        for rank in ranks:
            rank.stop()
    del master
    assert stored_when_printed == [printed]


def _node_1_gone(monkeypatch: pytest.MonkeyPatch) -> tuple[torch.distributed.Store, list[Heartbeat], str]:
    """The store, the four ranks after node 1's two stopped beating, and what node 1 printed last."""
    port = _port()
    master = torch.distributed.TCPStore("127.0.0.1", port, is_master=True, wait_for_workers=False)
    ranks = _ranks(port)
    printed = _print(monkeypatch)
    time.sleep(3 * BEAT)
    ranks[2].stop()
    ranks[3].stop()
    return master, ranks, printed


def test_a_node_that_stops_is_named_with_its_ranks_and_last_line(monkeypatch: pytest.MonkeyPatch) -> None:
    master, ranks, printed = _node_1_gone(monkeypatch)
    lost = ranks[1].lost()
    ranks[0].stop()
    ranks[1].stop()
    del master
    assert lost is not None
    assert str(lost) == f"node 1 stopped answering (ranks 2-3); the last it printed: {printed}"
    assert "run the same commands on every node again" in lost.hint


def test_a_rank_that_saw_the_failure_too_and_left_first_is_not_named(monkeypatch: pytest.MonkeyPatch) -> None:
    master, ranks, printed = _node_1_gone(monkeypatch)
    # Rank 1 saw its collective fail as well, judged, and its process ended before rank 0 judged.
    assert ranks[1].lost() is not None
    ranks[1].stop()
    lost = ranks[0].lost()
    ranks[0].stop()
    del master
    assert str(lost) == f"node 1 stopped answering (ranks 2-3); the last it printed: {printed}"


def test_a_rank_silent_for_the_timeout_ends_the_run_from_the_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _port()
    master = torch.distributed.TCPStore("127.0.0.1", port, is_master=True, wait_for_workers=False)
    seen: list[NodeLost] = []
    ranks = _ranks(port, stale_s=0.5, on_stale=seen)
    printed = _print(monkeypatch)
    ranks[3].stop()
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(BEAT)
    for rank in ranks[:3]:
        rank.stop()
    del master
    # The first rank to see rank 3 stand still names it and quotes what its node (rank 2) printed.
    # (A reporting rank ends its process, so later reports may name its node too.)
    assert seen and str(seen[0]) == f"node 1 stopped answering (rank 3); the last it printed: {printed}"


def test_when_node_0s_store_goes_the_others_name_node_0(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _port()
    master = torch.distributed.TCPStore("127.0.0.1", port, is_master=True, wait_for_workers=False)
    ranks = _ranks(port)
    time.sleep(3 * BEAT)
    del master
    lost = ranks[2].lost()
    for rank in ranks:
        rank.stop()
    assert lost is not None
    assert str(lost).startswith(f"node 0, which hosts the rendezvous at 127.0.0.1:{port}, stopped answering (ranks 0-1)")
