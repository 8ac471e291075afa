"""Replies for `tune chat`: token ids in on stdin, generated token ids out as events.

The TypeScript side renders the conversation with the model's chat template, tokenizes it and
decodes the reply; this process only holds the model and generates.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import torch

from .modeling import load_trained, pick_device
from .predict import until_stop
from .protocol import emit


@torch.no_grad()
def chat(plan: dict[str, Any], model_dir: str, checkpoint: str) -> None:
    device = pick_device()
    model = load_trained(plan, model_dir, checkpoint, device)
    pad = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    emit("ready")
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        ids = torch.tensor([request["ids"]], dtype=torch.long, device=device)
        stop = [int(i) for i in request["stop_ids"]]
        sampling = request["temperature"] > 0
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=request["max_new_tokens"],
            do_sample=sampling,
            temperature=request["temperature"] if sampling else None,
            top_p=request["top_p"] if sampling else None,
            eos_token_id=stop or None,
            pad_token_id=pad,
        )
        emit("reply", ids=until_stop([int(t) for t in out[0, ids.shape[1] :].tolist()], stop))
