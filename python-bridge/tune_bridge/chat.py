"""Replies for `tune chat`: token ids in on stdin, generated token ids out as events.

The TypeScript side renders the conversation with the model's chat template, tokenizes it and
decodes the reply; this process only holds the model and generates.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import torch

from .modeling import load_trained, pad_id, pick_device
from .predict import continuations
from .protocol import emit


@torch.no_grad()
def chat(plan: dict[str, Any], model_dir: str, checkpoint: str) -> None:
    device = pick_device()
    model = load_trained(plan, model_dir, checkpoint, device)
    pad = pad_id(model)
    emit("ready")
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        ids = torch.tensor([request["ids"]], dtype=torch.long, device=device)
        stop = [int(i) for i in request["stop_ids"]]
        emit("reply", ids=continuations(model, ids, torch.ones_like(ids), request, stop, pad)[0])
