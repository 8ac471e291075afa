"""The recipe's optimizer, or the nearest one this environment has, with a warning saying what changed."""

from __future__ import annotations

from typing import Any, Iterable

import torch

from .protocol import emit


def make_optimizer(name: str, parameters: Iterable[torch.nn.Parameter], lr: float, weight_decay: float, device: torch.device) -> torch.optim.Optimizer:
    params = list(parameters)
    adamw: dict[str, Any] = {"lr": lr, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": weight_decay}
    if name in ("adamw_8bit", "paged_adamw_32bit", "paged_adamw_8bit"):
        try:
            import bitsandbytes as bnb  # type: ignore[import-not-found]

            if device.type == "cuda":
                cls = {"adamw_8bit": bnb.optim.AdamW8bit, "paged_adamw_32bit": bnb.optim.PagedAdamW32bit, "paged_adamw_8bit": bnb.optim.PagedAdamW8bit}[name]
                return cls(params, **adamw)
            reason = "bitsandbytes optimizers need a CUDA GPU"
        except ImportError:
            reason = "bitsandbytes is not installed"
        emit("warning", message=f"optimizer {name} is not available ({reason}); using torch's AdamW with 32-bit state instead: same update rule, more optimizer memory")
    elif name == "adafactor":
        from transformers.optimization import Adafactor

        return Adafactor(params, lr=lr, weight_decay=weight_decay, scale_parameter=False, relative_step=False, warmup_init=False)
    elif name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.AdamW(params, **adamw, foreach=device.type == "cpu", fused=device.type == "cuda")


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bf16/fp16 autocast on a GPU (`auto`: bf16 where supported); full precision on the CPU."""
    if device.type != "cuda":
        return None
    if precision == "bf16" or (precision == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    return None
