"""Naming the node that stopped answering in a run of several processes.

A node that dies (killed, out of memory, its machine gone) shows up on the others as a collective
that fails ("Connection closed by peer", an NCCL error) or, when its network went away, one that
never returns; neither says which node. So every rank bumps a counter of its own in torchrun's
store twice a second, from a thread, and keeps there the last line its node printed. A rank whose
collective failed asks which counters stand still; a counter that stood still for the rendezvous
timeout ends the run from the thread, so a hung collective does not wait out NCCL's or gloo's
own timeouts (ten and thirty minutes).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import torch.distributed

from . import protocol
from .protocol import NodeLost


class Heartbeat:
    def __init__(self, store: torch.distributed.Store, rank: int, world: int, per_node: int, endpoint: str, interval_s: float = 0.5, stale_s: float = 300.0, on_stale: Callable[[NodeLost], None] | None = None) -> None:
        self._store, self._rank, self._per_node, self._endpoint = store, rank, per_node, endpoint
        self._peers = [peer for peer in range(world) if peer != rank]
        self._interval, self._stale, self._on_stale = interval_s, stale_s, on_stale
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="tune-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        protocol.echo_to(self._say)
        self._thread.start()
        return self

    def stop(self) -> None:
        protocol.echo_to(None)
        self._stopping.set()
        self._thread.join()

    def lost(self) -> NodeLost | None:
        """After a collective failed: the node whose counters stand still while a live one's
        would move twice, or None when every peer still beats (the failure was not a lost node)."""
        # The others that saw it fail may be gone by the time this one judges: they are not lost.
        self._put(f"failing/{self._rank}", "1")
        before = self._counts()
        time.sleep(4 * self._interval)
        after = self._counts()
        return self._name(before, after, unreachable=before is None or after is None)

    def _say(self, line: str) -> None:
        self._put(f"said/{self._rank}", line)

    def _put(self, key: str, value: str) -> None:
        try:
            self._store.set(key, value)
        except Exception:  # node 0's store is gone; the beat notices
            pass

    def _beat(self) -> None:
        # Peers are read once per timeout, so a big run's beats stay one store write per rank.
        before, read_at = self._counts(), time.monotonic()
        while not self._stopping.is_set():
            try:
                self._store.add(f"beat/{self._rank}", 1)
            except Exception:
                pass
            if time.monotonic() - read_at >= self._stale:
                after, read_at = self._counts(), time.monotonic()
                # A store that failed one read may be a blip; failing two, a timeout apart, it is gone.
                lost = self._name(before, after, unreachable=before is None and after is None)
                if lost is not None and self._on_stale is not None:
                    self._on_stale(lost)
                    return
                before = after
            self._stopping.wait(self._interval)

    def _counts(self) -> dict[int, int] | None:
        """Every peer's counter, or None when node 0's store (which goes away with it) does not answer."""
        try:
            return {peer: self._store.add(f"beat/{peer}", 0) for peer in self._peers}
        except Exception:
            return None

    def _name(self, before: dict[int, int] | None, after: dict[int, int] | None, unreachable: bool) -> NodeLost | None:
        if unreachable:
            # What node 0 said went with its store.
            return _lost(list(range(self._per_node)), f"node 0, which hosts the rendezvous at {self._endpoint}, stopped answering", "")
        if before is None or after is None:
            return None
        try:
            still = [peer for peer in self._peers if after[peer] == before[peer] and not self._store.check([f"failing/{peer}"])]
        except Exception:
            return None
        if not still:
            return None
        node = still[0] // self._per_node
        ranks = [peer for peer in still if peer // self._per_node == node]
        # What the node printed is what its first rank emitted (the others print nothing).
        first = f"said/{node * self._per_node}"
        try:
            said = self._store.get(first).decode("utf-8", "replace")[:300] if self._store.check([first]) else ""
        except Exception:
            said = ""
        return _lost(ranks, f"node {node} stopped answering", said)


def _lost(ranks: list[int], what: str, said: str) -> NodeLost:
    listed = f"rank {ranks[0]}" if len(ranks) == 1 else f"ranks {ranks[0]}-{ranks[-1]}"
    last = f"; the last it printed: {said}" if said else "; it printed nothing yet"
    return NodeLost(f"{what} ({listed}){last}", "Its own output says why (out of memory, killed, its machine gone). The run is kept: run the same commands on every node again to resume from the last checkpoint.")


def start_heartbeat(stale_s: float, on_stale: Callable[[NodeLost], None]) -> Heartbeat:
    """This rank's heartbeat, through the store torchrun started (MASTER_ADDR:MASTER_PORT)."""
    host, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
    store = torch.distributed.PrefixStore("tune-heartbeat/", torch.distributed.TCPStore(host, port, is_master=False, timeout=timedelta(seconds=10)))
    return Heartbeat(store, int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"])), f"{host}:{port}", stale_s=stale_s, on_stale=on_stale).start()
