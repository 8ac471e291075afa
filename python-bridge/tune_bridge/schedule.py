"""Learning rate per optimizer step, exactly as the tfjs engine computes it (src/engine/tfjs/schedule.ts)."""

from __future__ import annotations

import math


def learning_rate(step: int, total: int, warmup: int, peak: float, kind: str) -> float:
    if step < warmup:
        return peak * step / max(1, warmup)
    if kind == "constant":
        return peak
    progress = (step - warmup) / max(1, total - warmup)
    if kind == "linear":
        return peak * max(0.0, 1 - progress)
    return peak * max(0.0, 0.5 * (1 + math.cos(math.pi * progress)))
