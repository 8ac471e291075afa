"""Before a multi-node run trains, the nodes compare their data and resume step (gloo, two processes
standing for two nodes) and refuse alike, naming the node that differs from node 0."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import torch
import torch.distributed
import torch.multiprocessing

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python-bridge"))

from tune_bridge.nodes_agree import check_nodes_agree  # noqa: E402
from tune_bridge.protocol import Refused  # noqa: E402


def _node(rank: int, port: int, folder: str, batches: list[list[list[list[int]]]], resumes: list[str | None]) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), TUNE_NODE_RANK=str(rank))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=2)
    manifest = Path(folder) / "train.json"
    plan = {"data": {"manifests": {"train": str(manifest)}}}
    try:
        check_nodes_agree(plan, batches[rank], resumes[rank])
        outcome = {"ok": True}
    except Refused as refused:
        outcome = {"code": refused.code, "message": str(refused)}
    finally:
        torch.distributed.destroy_process_group()
    (Path(folder) / f"outcome-{rank}.json").write_text(json.dumps(outcome))


def _run(tmp_path: Path, batches: list[list[list[list[int]]]], resumes: list[str | None]) -> list[dict[str, str]]:
    (tmp_path / "train.json").write_text('{"examples": 4}')
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    torch.multiprocessing.spawn(_node, args=(port, str(tmp_path), batches, resumes), nprocs=2)
    return [json.loads((tmp_path / f"outcome-{rank}.json").read_text()) for rank in (0, 1)]


def test_nodes_with_the_same_data_and_step_train(tmp_path: Path) -> None:
    same = [[[0, 1], [2, 3]]]
    assert _run(tmp_path, [same, same], ["runs/exp/checkpoint-4", "runs/exp/checkpoint-4"]) == [{"ok": True}] * 2


def test_a_node_with_other_batches_or_another_checkpoint_is_named_by_every_node(tmp_path: Path) -> None:
    other_data = _run(tmp_path, [[[[0, 1]]], [[[1, 0]]]], [None, None])
    assert [o["code"] for o in other_data] == ["nodes-data-differ"] * 2
    assert all(o["message"].startswith("node 1 prepared other data than node 0") for o in other_data)
    other_step = _run(tmp_path, [[[[0, 1]]], [[[0, 1]]]], ["runs/exp/checkpoint-4", None])
    assert [o["code"] for o in other_step] == ["nodes-resume-differ"] * 2
    assert "node 1 would start from step 0 and node 0 from step 4" in other_step[0]["message"]
