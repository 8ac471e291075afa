"""The CPU LoRA dropout is a Bernoulli mask at the recipe's rate that keeps each input's expectation."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python-bridge"))

from tune_bridge.dropout import WordDropout, lighten_lora_dropout  # noqa: E402


@pytest.mark.parametrize("p", [0.05, 0.1, 0.5])
def test_drops_at_the_rate_in_every_lane_and_keeps_the_mean(p: float) -> None:
    torch.manual_seed(0)
    dropout = WordDropout(p).train()
    out = dropout(torch.ones(4_000_000))
    dropped = out == 0
    # Four elements share a 64-bit draw: each of the four lanes must drop at the rate on its own.
    for lane in range(4):
        assert float(dropped[lane::4].float().mean()) == pytest.approx(p, abs=0.002)
    assert float(out.mean()) == pytest.approx(1.0, abs=0.003)
    values = out.unique().tolist()
    assert len(values) == 2 and values[0] == 0.0 and values[1] == pytest.approx(1 / (1 - dropout.threshold / 2**15))
    # Consecutive draws differ (a new mask each call), and evaluation passes inputs through.
    assert not torch.equal(dropout(torch.ones(1000)) == 0, dropout(torch.ones(1000)) == 0)
    x = torch.randn(7, 3)
    assert dropout.eval()(x) is x


def test_replaces_every_peft_lora_dropout_and_changes_no_weight() -> None:
    model = AutoModelForCausalLM.from_pretrained(ROOT / "test" / "models" / "stories260K")
    peft = get_peft_model(model, LoraConfig(r=2, lora_alpha=4, lora_dropout=0.1, target_modules="all-linear"))
    before = {name: tensor.clone() for name, tensor in peft.state_dict().items()}
    assert lighten_lora_dropout(peft) == 5 * 7
    assert not any(isinstance(m, torch.nn.Dropout) and m.p > 0 for name, m in peft.named_modules() if "lora_dropout" in name)
    after = peft.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
