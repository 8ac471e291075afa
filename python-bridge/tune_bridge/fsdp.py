"""`distributed.strategy: fsdp`: the model sharded over the processes with FSDP2 (fully_shard).

Each decoder layer is its own FSDP unit (all-gathered for its forward and backward, then freed),
and the step's loss module the root (embeddings, final norm and head), so a process holds 1/N
of the frozen base, of the LoRA weights and of their optimizer state, plus one layer gathered.
Checkpoints are gathered to full tensors, so they are exactly the single-process files.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import DTensor, distribute_tensor


def shard(root: torch.nn.Module, model: Any, compute_dtype: torch.dtype | None) -> int:
    """fully_shard each decoder layer of `model` (inside `root`), then `root`; returns the layer count.

    On a GPU the gathered parameters are cast to the autocast dtype and gradients reduced in fp32;
    on the CPU (gloo) everything stays fp32."""
    policy = MixedPrecisionPolicy(param_dtype=compute_dtype, reduce_dtype=torch.float32) if compute_dtype else MixedPrecisionPolicy()
    transformers_model = model.get_base_model() if hasattr(model, "get_base_model") else model
    # transformers names the blocks a model must not be split inside: its decoder (or encoder) layers.
    layer_classes = set(getattr(transformers_model, "_no_split_modules", None) or [])
    layers = [module for module in transformers_model.modules() if type(module).__name__ in layer_classes]
    for layer in layers:
        fully_shard(layer, mp_policy=policy)
    fully_shard(root, mp_policy=policy)
    return len(layers)


def _full(tensor: torch.Tensor) -> torch.Tensor:
    # full_tensor() is a collective: every rank calls it, in the same order.
    return (tensor.full_tensor() if isinstance(tensor, DTensor) else tensor).detach().cpu()


def full_adapter_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The trained parameters, whole, under the names model.state_dict() gives (PEFT filters them)."""
    return {name: _full(parameter) for name, parameter in model.named_parameters() if parameter.requires_grad}


def full_optimizer_state(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """optimizer.state_dict() with every sharded moment gathered: the single-process file's contents."""
    state = optimizer.state_dict()
    return {**state, "state": {index: {key: _full(value) if isinstance(value, torch.Tensor) else value for key, value in moments.items()} for index, moments in state["state"].items()}}


def shard_optimizer_state(optimizer: torch.optim.Optimizer) -> None:
    """After load_state_dict of a full (single-process format) state: each moment sharded as its
    parameter is, so a run resumes on any number of processes."""
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            if not isinstance(parameter, DTensor):
                continue
            moments = optimizer.state.get(parameter, {})
            for key, value in moments.items():
                if isinstance(value, torch.Tensor) and not isinstance(value, DTensor) and value.shape == parameter.shape:
                    moments[key] = distribute_tensor(value, parameter.device_mesh, parameter.placements)


def total_norm(norm: torch.Tensor) -> float:
    """clip_grad_norm_'s total over sharded gradients is a DTensor; its value is the whole norm."""
    return float(norm.full_tensor() if isinstance(norm, DTensor) else norm)
