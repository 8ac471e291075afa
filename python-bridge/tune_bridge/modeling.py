"""The base model with the plan's LoRA, built with transformers and PEFT."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, PeftModel, get_peft_model, set_peft_model_state_dict
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification, PreTrainedModel


def pick_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def model_dtype(plan: dict[str, Any], device: torch.device) -> torch.dtype:
    wanted = plan["model"].get("dtype", "auto")
    if wanted == "float16":
        return torch.float16
    if wanted == "bfloat16" or (wanted == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float32


def base_model(plan: dict[str, Any], model_dir: str, device: torch.device) -> PreTrainedModel:
    """*ForSequenceClassification with the recipe's labels and pad token, or *ForCausalLM."""
    dtype = model_dtype(plan, device)
    config = AutoConfig.from_pretrained(model_dir)
    if plan["task"] == "sequence-classification":
        labels = plan["data"]["labels"]
        pad = config.pad_token_id if config.pad_token_id is not None else 0
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            pad_token_id=pad,
            dtype=dtype,
        )
    else:
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    return model.to(device)


def lora_config(plan: dict[str, Any]) -> LoraConfig:
    lora = plan["lora"]
    targets = lora["target_modules"]
    return LoraConfig(
        r=lora["r"],
        lora_alpha=lora["alpha"],
        lora_dropout=lora["dropout"],
        target_modules=targets if targets == "all-linear" else list(targets),
        bias=lora["bias"],
        use_rslora=lora["rslora"],
        use_dora=lora["dora"],
        modules_to_save=list(lora["modules_to_save"]) or None,
        task_type=lora["task_type"],
    )


def adapted_model(plan: dict[str, Any], model_dir: str, device: torch.device, init: str | None) -> PeftModel:
    """The model with fresh LoRA (PEFT's initialisation from the seed), or with `init`'s weights
    (an adapter folder the TS side wrote from the same seeds as the tfjs engine, so both engines
    start from the same point)."""
    torch.manual_seed(plan["training"]["seed"])
    model = get_peft_model(base_model(plan, model_dir, device), lora_config(plan))
    if init is not None:
        weights = load_file(str(Path(init) / "adapter_model.safetensors"), device=str(device))
        result = set_peft_model_state_dict(model, weights)
        if result.unexpected_keys:
            raise ValueError(f"{init}: adapter tensors this model does not have: {sorted(result.unexpected_keys)[:5]}")
    return model


def load_trained(plan: dict[str, Any], model_dir: str, checkpoint: str, device: torch.device) -> PeftModel:
    """A checkpoint's adapter on the base model, for prediction."""
    base = base_model(plan, model_dir, device)
    return PeftModel.from_pretrained(base, checkpoint).to(device).eval()
