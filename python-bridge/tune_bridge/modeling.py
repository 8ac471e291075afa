"""The base model with the plan's LoRA, built with transformers and PEFT."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, PeftModel, get_peft_model, set_peft_model_state_dict
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification, PreTrainedModel

from .dropout import lighten_lora_dropout
from .nf4 import quantize_model
from .protocol import Refused, emit


def pick_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def pad_id(model: Any) -> int:
    """The id padded positions hold: the config's pad token, else 0 (never attended or read)."""
    return model.config.pad_token_id if model.config.pad_token_id is not None else 0


def model_dtype(plan: dict[str, Any], device: torch.device) -> torch.dtype:
    wanted = plan["model"].get("dtype", "auto")
    if wanted == "float16":
        return torch.float16
    if wanted == "bfloat16" or (wanted == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float32


def _trusts_remote_code(plan: dict[str, Any]) -> bool:
    """Code shipped in a model folder runs only when the recipe says so by name."""
    return bool(plan["model"].get("trust_remote_code", False))


def _trusted_config(plan: dict[str, Any], model_dir: str) -> Any:
    trust = _trusts_remote_code(plan)
    try:
        return AutoConfig.from_pretrained(model_dir, trust_remote_code=trust)
    except ValueError as error:
        if trust or "trust_remote_code" not in str(error):
            raise
        raise Refused(
            "model-needs-remote-code",
            f"{plan['model']['base']} needs Python code shipped in its repo to load, and tune does not run it unless asked",
            "Set `model.trust_remote_code: true` in the recipe if you trust that repo's code, or use a model transformers supports natively.",
        ) from None


def base_model(plan: dict[str, Any], model_dir: str, device: torch.device) -> PreTrainedModel:
    """*ForSequenceClassification with the recipe's labels and pad token, or *ForCausalLM.

    Weights load from safetensors only (a pickle in the folder is never read). The folder was
    checked on the TypeScript side (config JSON, safetensors headers); what transformers still
    refuses in it (an unknown architecture, inconsistent sizes) is said as the model's problem."""
    try:
        return _load_base(plan, model_dir, device)
    except (Refused, torch.cuda.OutOfMemoryError, ImportError):
        raise
    except (ValueError, KeyError, OSError, RuntimeError) as error:
        raise Refused(
            "model-unloadable",
            f"transformers cannot load {plan['model']['base']} from {model_dir}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
            "Check that the folder (or Hub repo) is a transformers model of a supported architecture, saved whole; `tune validate` names the files it reads.",
        ) from error


def _load_base(plan: dict[str, Any], model_dir: str, device: torch.device) -> PreTrainedModel:
    dtype = model_dtype(plan, device)
    config = _trusted_config(plan, model_dir)
    bnb = _bitsandbytes_config(plan, device)
    loading: dict[str, Any] = {"dtype": dtype, "attn_implementation": attention_implementation(), "use_safetensors": True, "trust_remote_code": _trusts_remote_code(plan)}
    if bnb is not None:
        loading.update(quantization_config=bnb, device_map={"": device.index or 0})
    if plan["task"] == "sequence-classification":
        labels = plan["data"]["labels"]
        pad = config.pad_token_id if config.pad_token_id is not None else 0
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            pad_token_id=pad,
            **loading,
        )
    else:
        model = AutoModelForCausalLM.from_pretrained(model_dir, **loading)
    if bnb is not None:
        from peft import prepare_model_for_kbit_training

        return prepare_model_for_kbit_training(model, use_gradient_checkpointing=plan["training"]["gradient_checkpointing"])
    return on_device(plan, model, device)


def on_device(plan: dict[str, Any], model: PreTrainedModel, device: torch.device) -> PreTrainedModel:
    """A loaded base model on the device, quantized with the built-in quantizer if the plan says so
    (layer by layer on the way there)."""
    if plan.get("quantization"):
        _quantize(model, plan, device)
    return model.to(device)


def _bitsandbytes_config(plan: dict[str, Any], device: torch.device) -> Any:
    """transformers' BitsAndBytesConfig for the recipe's quantization, where bitsandbytes and CUDA exist."""
    quantization = plan.get("quantization")
    if not quantization or device.type != "cuda":
        return None
    try:
        import bitsandbytes  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return None
    from transformers import BitsAndBytesConfig

    if quantization["bits"] == 8:
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=list(quantization["skip_modules"]) or None)
    compute = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[quantization["compute_dtype"]]
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=quantization["type"], bnb_4bit_use_double_quant=quantization["double_quant"], bnb_4bit_compute_dtype=compute, llm_int8_skip_modules=list(quantization["skip_modules"]) or None)


_HEADS = {"lm_head", "score", "classifier", "out_proj"}


def _quantize(model: PreTrainedModel, plan: dict[str, Any], device: torch.device) -> None:
    """The frozen base in 4-bit NF4 or 8-bit, with the built-in quantizer.

    bitsandbytes' kernels need CUDA and the package; where both exist it is the better choice, and
    the warning says so. The built-in one keeps the same NF4 codebook and block size.
    """
    quantization = plan["quantization"]
    if quantization["bits"] == 4 and quantization["type"] != "nf4":
        raise ValueError(f"quantization type {quantization['type']} needs bitsandbytes on a CUDA GPU; use type nf4")
    compute = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[quantization["compute_dtype"]]
    replaced = quantize_model(model, quantization["bits"], quantization["double_quant"], compute, _HEADS | set(quantization["skip_modules"]), device)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    # prepare_model_for_kbit_training: norms and other small parameters stay in float32.
    for parameter in model.parameters():
        if parameter.dtype in (torch.float16, torch.bfloat16):
            parameter.data = parameter.data.float()
    emit(
        "warning",
        message=f"quantization: {replaced} linear layers hold {quantization['bits']}-bit weights with tune's built-in quantizer "
        f"({'NF4, bitsandbytes codebook, blocks of 64' + (', double-quantized scales' if quantization['double_quant'] else '') if quantization['bits'] == 4 else 'int8 per row'}), "
        f"dequantized to {quantization['compute_dtype']} in each forward pass: bitsandbytes' memory at rest, not its fused CUDA kernels",
    )


def attention_implementation() -> str:
    """FlashAttention 2 on a GPU where installed, else PyTorch's scaled-dot-product attention with
    packed rows attended example by example (attention.py)."""
    if torch.cuda.is_available():
        try:
            import flash_attn  # type: ignore[import-not-found]  # noqa: F401

            return "flash_attention_2"
        except ImportError:
            pass
    from . import attention

    return attention.NAME


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
        # tune's `default` is PEFT's True (A Kaiming-uniform, B zeros); the other names are PEFT's own.
        init_lora_weights=True if lora["init"] == "default" else lora["init"],
    )


def adapted_model(plan: dict[str, Any], model_dir: str, device: torch.device, init: str | None) -> PeftModel:
    """The model with fresh LoRA (PEFT's initialisation from the seed), or with `init`'s weights
    (an adapter folder the TS side wrote from the same seeds as the tfjs engine, so both engines
    start from the same point)."""
    return adapt(plan, base_model(plan, model_dir, device), device, init)


def adapt(plan: dict[str, Any], base: PreTrainedModel, device: torch.device, init: str | None) -> PeftModel:
    """The plan's LoRA on a base model already on the device."""
    torch.manual_seed(plan["training"]["seed"])
    model = get_peft_model(base, lora_config(plan))
    if device.type == "cpu":
        lighten_lora_dropout(model)
    if init is not None:
        weights = load_file(str(Path(init) / "adapter_model.safetensors"), device=str(device))
        result = set_peft_model_state_dict(model, weights)
        if result.unexpected_keys:
            raise ValueError(f"{init}: adapter tensors this model does not have: {sorted(result.unexpected_keys)[:5]}")
    return model


def load_trained(plan: dict[str, Any], model_dir: str, checkpoint: str, device: torch.device) -> PeftModel:
    """A checkpoint's adapter on the base model, for prediction (from its safetensors: PEFT would
    fall back to a pickled adapter_model.bin)."""
    if not (Path(checkpoint) / "adapter_model.safetensors").is_file():
        raise Refused("adapter-not-safetensors", f"{checkpoint} has no adapter_model.safetensors", "tune reads adapters only as safetensors; convert a pickled adapter once where you trust it (PeftModel.save_pretrained(dir, safe_serialization=True)).")
    base = base_model(plan, model_dir, device)
    return PeftModel.from_pretrained(base, checkpoint).to(device).eval()
