"""LoRA dropout on the CPU with a quarter of the random draws.

PEFT drops LoRA inputs with torch's dropout, whose CPU kernel draws one random number per element:
on a small model that is a fifth of a training step (scripts/bench/train-torch.mjs). Here each
64-bit draw gives four elements 15 random bits each, and an element is kept when its bits reach
round(p * 2^15): a Bernoulli mask with the rate rounded to 1/32768 (0.1 becomes 0.100006), scaled
by the exact inverse of its keep rate, so every activation keeps its expectation. GPUs keep
torch's dropout, which is fused there.
"""

from __future__ import annotations

import torch

_BITS = 15


class WordDropout(torch.nn.Module):
    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.threshold = round(p * 2**_BITS)
        self.scale = 2**_BITS / (2**_BITS - self.threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.threshold == 0:
            return x
        count = x.numel()
        # random_ fills an int64 with 63 random bits: each of its four 16-bit lanes has 15 low ones.
        lanes = torch.empty((count + 3) // 4, dtype=torch.int64, device=x.device).random_().view(torch.int16)[:count]
        keep = (lanes & (2**_BITS - 1)) >= self.threshold
        # One scaled mask in x's dtype, one product: the fewest passes over x (and its gradient).
        return x * keep.view(x.shape).to(x.dtype).mul_(self.scale)


def lighten_lora_dropout(model: torch.nn.Module) -> int:
    """Swaps every PEFT LoRA dropout for WordDropout at the same rate; returns how many."""
    swapped = 0
    for module in model.modules():
        dropouts = getattr(module, "lora_dropout", None)
        if not isinstance(dropouts, torch.nn.ModuleDict):
            continue
        for name, dropout in list(dropouts.items()):
            if isinstance(dropout, torch.nn.Dropout) and dropout.p > 0:
                dropouts[name] = WordDropout(dropout.p)
                swapped += 1
    return swapped
