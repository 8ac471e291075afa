"""The built-in 4-bit NF4 and 8-bit layers against the float weights they replace."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tune_bridge.nf4 import BLOCKSIZE, NF4_CODEBOOK, QuantizedLinear, dynamic_map, quantize_model  # noqa: E402


CPU = torch.device("cpu")


def _linear(out: int, inp: int, seed: int = 0) -> torch.nn.Linear:
    torch.manual_seed(seed)
    layer = torch.nn.Linear(inp, out)
    torch.nn.init.normal_(layer.weight, std=0.02)
    return layer


def test_nf4_codebook_is_bitsandbytes_and_every_weight_maps_to_its_nearest_code() -> None:
    assert NF4_CODEBOOK.numel() == 16 and NF4_CODEBOOK[0] == -1 and NF4_CODEBOOK[7] == 0 and NF4_CODEBOOK[15] == 1
    layer = _linear(48, 200)
    quantized = QuantizedLinear(layer, bits=4, double_quant=False, compute_dtype=torch.float32, device=CPU)
    weight = layer.weight.detach().reshape(-1)
    restored = quantized.dequantize().reshape(-1)
    pad = (-weight.numel()) % BLOCKSIZE
    blocks = torch.nn.functional.pad(weight, (0, pad)).reshape(-1, BLOCKSIZE)
    absmax = blocks.abs().amax(dim=1)
    # Every restored value is absmax times a codebook entry, and the nearest one to the weight.
    normalised = torch.nn.functional.pad(weight, (0, pad)).reshape(-1, BLOCKSIZE) / absmax[:, None]
    nearest = NF4_CODEBOOK[(normalised.unsqueeze(-1) - NF4_CODEBOOK).abs().argmin(dim=-1)]
    expected = (nearest * absmax[:, None]).reshape(-1)[: weight.numel()]
    assert torch.allclose(restored, expected, atol=1e-7)
    # Storage: two codes per byte.
    assert quantized.codes.dtype == torch.uint8 and quantized.codes.numel() == weight.numel() // 2


def test_double_quantized_scales_stay_close_and_outputs_track_the_float_layer() -> None:
    layer = _linear(128, 256, seed=1)
    plain = QuantizedLinear(layer, bits=4, double_quant=False, compute_dtype=torch.float32, device=CPU)
    double = QuantizedLinear(layer, bits=4, double_quant=True, compute_dtype=torch.float32, device=CPU)
    assert torch.allclose(double.scales(), plain.absmax, rtol=0.02, atol=1e-5)
    assert dynamic_map().numel() == 256
    x = torch.randn(8, 256)
    reference = layer(x)
    for quantized in (plain, double):
        error = (quantized(x) - reference).norm() / reference.norm()
        assert error < 0.15, float(error)


@pytest.mark.parametrize("bits", [4, 8])
def test_quantize_model_keeps_heads_and_lora_attaches(bits: int) -> None:
    from peft import LoraConfig, get_peft_model

    model = torch.nn.Sequential()
    model.add_module("proj", _linear(32, 64))
    model.add_module("score", _linear(3, 32))
    replaced = quantize_model(model, bits, False, torch.float32, {"score"}, CPU)
    assert replaced == 1 and isinstance(model.proj, QuantizedLinear) and type(model.score) is torch.nn.Linear
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=["proj"]))
    x = torch.randn(2, 64)
    out = peft_model(x)
    out.sum().backward()
    lora_a = next(p for n, p in peft_model.named_parameters() if "lora_A" in n)
    assert lora_a.grad is not None and torch.isfinite(lora_a.grad).all()
    if bits == 8:
        assert (model.proj.base_layer.dequantize() - model.proj.base_layer.int8.float() * model.proj.base_layer.row_scale[:, None]).abs().max() == 0


@pytest.mark.parametrize("bits", [4, 8])
def test_backward_recomputes_the_weight_instead_of_keeping_it(bits: int) -> None:
    layer = _linear(96, 128, seed=2)
    quantized = QuantizedLinear(layer, bits=bits, double_quant=True, compute_dtype=torch.float32, device=CPU)
    x = torch.randn(5, 128, requires_grad=True)
    saved: list[torch.Tensor] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        out = quantized(x)
    # What autograd keeps for backward: nothing the size of the weight (96 x 128).
    assert all(t.numel() < 96 * 128 for t in saved), [tuple(t.shape) for t in saved]
    out.square().sum().backward()
    reference = x.detach().clone().requires_grad_(True)
    (torch.nn.functional.linear(reference, quantized.dequantize(), layer.bias.detach())).square().sum().backward()
    assert x.grad is not None and reference.grad is not None
    torch.testing.assert_close(x.grad, reference.grad)
