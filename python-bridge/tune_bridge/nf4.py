"""4-bit NormalFloat (and 8-bit) base weights without bitsandbytes.

The same NF4 codebook and block size as bitsandbytes (64 weights per absmax scale), with its
optional double quantization of the scales (8-bit dynamic codes in blocks of 256, after
subtracting their mean). Weights stay quantized at rest and are dequantized in the forward pass:
the memory of bitsandbytes' 4-bit storage, not its fused kernels' speed. The layers subclass
nn.Linear, so PEFT puts LoRA on them as on any linear layer.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

NF4_CODEBOOK = torch.tensor(
    [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
     0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0]
)
BLOCKSIZE = 64
SCALE_BLOCKSIZE = 256


def dynamic_map() -> torch.Tensor:
    """bitsandbytes' signed 8-bit dynamic-tree code (create_dynamic_map), used for the scales."""
    values: list[float] = []
    for i in range(7):
        bounds = torch.linspace(0.1, 1, 2**i + 1)
        means = ((bounds[:-1] + bounds[1:]) / 2.0) * 10 ** (-6 + i)
        values += means.tolist() + (-means).tolist()
    values += [0.0, 1.0]
    return torch.tensor(sorted(values))


def _nearest(normalised: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    midpoints = (codebook[1:] + codebook[:-1]) / 2
    return torch.bucketize(normalised.contiguous(), midpoints.to(normalised.device)).to(torch.uint8)


def _blockwise(values: torch.Tensor, blocksize: int, codebook: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flat = values.reshape(-1).float()
    pad = (-flat.numel()) % blocksize
    blocks = F.pad(flat, (0, pad)).reshape(-1, blocksize)
    absmax = blocks.abs().amax(dim=1).clamp_min(1e-12)
    return _nearest(blocks / absmax[:, None], codebook).reshape(-1)[: flat.numel()], absmax


class QuantizedLinear(torch.nn.Linear):
    """A frozen linear layer stored as NF4 codes (two per byte) and per-block scales, or as int8 rows."""

    def __init__(self, source: torch.nn.Linear, bits: int, double_quant: bool, compute_dtype: torch.dtype, device: torch.device) -> None:
        torch.nn.Module.__init__(self)
        self.in_features, self.out_features = source.in_features, source.out_features
        self.bits, self.double_quant, self.compute_dtype = bits, double_quant, compute_dtype
        # Only this layer's weight goes to the device in full precision, for as long as it takes.
        weight = source.weight.detach().to(device)
        self.scale_offset: Optional[torch.Tensor] = None
        if bits == 4:
            codes, absmax = _blockwise(weight, BLOCKSIZE, NF4_CODEBOOK)
            codes = F.pad(codes, (0, codes.numel() % 2))
            self.register_buffer("codes", (codes[0::2] << 4 | codes[1::2]).to(device))
            if double_quant:
                offset = absmax.mean()
                scale_codes, scale_absmax = _blockwise(absmax - offset, SCALE_BLOCKSIZE, dynamic_map())
                self.register_buffer("scale_codes", scale_codes.to(device))
                self.register_buffer("scale_absmax", scale_absmax.to(device))
                self.register_buffer("scale_offset_buffer", offset.reshape(1).to(device))
            else:
                self.register_buffer("absmax", absmax.to(device))
        else:
            scale = weight.float().abs().amax(dim=1).clamp_min(1e-12) / 127
            self.register_buffer("int8", torch.round(weight.float() / scale[:, None]).to(torch.int8))
            self.register_buffer("row_scale", scale)
        self.bias = None if source.bias is None else torch.nn.Parameter(source.bias.detach().to(device, copy=True), requires_grad=False)

    def scales(self) -> torch.Tensor:
        if not self.double_quant:
            return self.absmax
        codebook = dynamic_map().to(self.scale_codes.device)
        blocks = codebook[self.scale_codes.long()]
        pad = (-blocks.numel()) % SCALE_BLOCKSIZE
        restored = (F.pad(blocks, (0, pad)).reshape(-1, SCALE_BLOCKSIZE) * self.scale_absmax[:, None]).reshape(-1)[: blocks.numel()]
        return restored + self.scale_offset_buffer

    def dequantize(self) -> torch.Tensor:
        count = self.in_features * self.out_features
        if self.bits == 8:
            return (self.int8.float() * self.row_scale[:, None]).to(self.compute_dtype)
        codes = torch.stack([self.codes >> 4, self.codes & 0x0F], dim=1).reshape(-1)[:count]
        values = NF4_CODEBOOK.to(codes.device)[codes.long()]
        pad = (-count) % BLOCKSIZE
        blocks = F.pad(values, (0, pad)).reshape(-1, BLOCKSIZE) * self.scales()[:, None]
        return blocks.reshape(-1)[:count].reshape(self.out_features, self.in_features).to(self.compute_dtype)

    @property
    def weight(self) -> torch.Tensor:  # type: ignore[override]
        """The dequantized weight, for code that inspects a linear layer (PEFT reads its device, dtype and shape)."""
        return self.dequantize()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = _DequantizedProduct.apply(x.to(self.compute_dtype), self)
        if self.bias is not None:
            out = out + self.bias.to(self.compute_dtype)
        return out.to(x.dtype)


class _DequantizedProduct(torch.autograd.Function):
    """x @ W.T with W dequantized in forward and again in backward, never kept in between: saving
    it, as F.linear does, would hold every layer's full-precision weight until backward, the
    memory the quantization is for."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor, layer: QuantizedLinear) -> torch.Tensor:
        ctx.layer = layer  # type: ignore[attr-defined]
        return F.linear(x, layer.dequantize())

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad @ ctx.layer.dequantize().to(grad.dtype), None  # type: ignore[attr-defined]


def quantize_model(model: torch.nn.Module, bits: int, double_quant: bool, compute_dtype: torch.dtype, skip: set[str], device: torch.device) -> int:
    """Replaces every linear layer except the heads and `skip` with a QuantizedLinear on `device`,
    one layer at a time (so a model loaded on the CPU never has its full-precision linear weights
    on the GPU all at once); returns how many."""
    replaced = 0
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if type(child) is torch.nn.Linear and child_name not in skip and full not in skip:
                setattr(module, child_name, QuantizedLinear(child, bits, double_quant, compute_dtype, device))
                replaced += 1
    return replaced
