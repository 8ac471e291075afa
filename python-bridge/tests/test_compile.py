"""`training.compile: true` runs StepLoss under torch.compile (inductor, on this CPU): the same
losses and gradients as eager on stories260K's packed rows, and no recompiling for a new shape."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python-bridge"))
sys.path.insert(0, str(Path(__file__).parent))

from test_padding_free import MICRO_BATCHES, STORIES, _assert_same, _lora, _sft_labels, _split, _texts  # noqa: E402
from tune_bridge.batching import StepBatcher  # noqa: E402
from tune_bridge.loss import StepLoss  # noqa: E402


def _run(step_loss: torch.nn.Module, model: torch.nn.Module, batch: object) -> tuple[float, dict[str, torch.Tensor]]:
    loss = step_loss(batch)
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return float(loss.detach()), grads


def test_compiled_step_loss_equals_eager() -> None:
    torch._dynamo.reset()
    rows = _texts(11, seed=6)
    split = _split(rows, _sft_labels(rows, 7), None)
    # Two of stories260K's five layers: compiling is the slow part, and two layers show a stack.
    model = _lora(AutoModelForCausalLM.from_pretrained(STORIES, dtype=torch.float32, num_hidden_layers=2), "CAUSAL_LM")
    batches = StepBatcher(split, classify=False, pad=0).packed(MICRO_BATCHES, 4)
    assert len({b.input_ids.shape[1] for b in batches}) > 1, "rows of different lengths exercise dynamic shapes"
    eager = StepLoss(model, classify=False)
    compiled = torch.compile(StepLoss(model, classify=False), dynamic=True)
    for batch in batches:
        _assert_same(_run(eager, model, batch), _run(compiled, model, batch))
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] <= 2, "a new row length must not recompile the model"
