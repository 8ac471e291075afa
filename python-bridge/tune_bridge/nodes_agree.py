"""Before a multi-node run trains, every node must hold the same data and start from the same step.

Each node tokenized the recipe's inputs itself and found its checkpoint to resume from in the run
directory it sees; a node with other data (a changed file, another tune version) or another
checkpoint (a run directory not on a shared filesystem) would silently train something else.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import torch

from .protocol import Refused


def check_nodes_agree(plan: dict[str, Any], batches: list[list[list[int]]], resume: str | None) -> None:
    """All ranks gather each node's data hash (the tokenized splits' manifests and the micro-batch
    order) and resume step, and all refuse alike, naming the first node that differs from node 0."""
    if "TUNE_NODE_RANK" not in os.environ:
        return
    data = hashlib.sha256(json.dumps(batches).encode())
    for split in sorted(plan["data"]["manifests"]):
        data.update(split.encode() + Path(plan["data"]["manifests"][split]).read_bytes())
    step = int(re.sub(r"^checkpoint-", "", Path(resume).name)) if resume else 0
    # Plain integers in a tensor, not all_gather_object: that one unpickles what the other ranks send.
    device = torch.device("cuda", torch.cuda.current_device()) if torch.distributed.get_backend() == "nccl" else torch.device("cpu")
    mine = torch.tensor([int(os.environ["TUNE_NODE_RANK"]), step, *data.digest()], dtype=torch.int64, device=device)
    every = [torch.empty_like(mine) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(every, mine)
    rows = [row.tolist() for row in every]
    lead = rows[0]
    for node, other_step, *other_data in rows:
        if other_data != lead[2:]:
            raise Refused("nodes-data-differ", f"node {node} prepared other data than node 0 (tokenized dataset or micro-batch order {bytes(other_data).hex()[:12]} against {bytes(lead[2:]).hex()[:12]})", "Give every node the same recipe, data files and tune version; then run the same commands again.")
        if other_step != lead[1]:
            raise Refused("nodes-resume-differ", f"node {node} would start from step {other_step} and node 0 from step {lead[1]}: the nodes do not see the same run directory", "Put --out on a filesystem every node sees (checkpoints are written by node 0 and resumed from by all), or pass the same --resume on every node.")
