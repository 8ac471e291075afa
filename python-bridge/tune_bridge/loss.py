"""A batch's summed loss, computed only where it is read.

Decoders run their transformer body once, then the head only at the positions the loss reads:
each example's last non-pad token (classification) or each position whose next token is trained (causal
LM). The causal head runs in chunks of rows whose fp32 logits stay under CHUNK_BYTES, each
recomputed in backward, so full-vocabulary fp32 logits (1 GB for Llama-3's 128,256 tokens at
4 x 512) never exist. Encoders (BERT's pooler reads the first token) run their whole
sequence-classification forward on padded rows.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.checkpoint import checkpoint
from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES, MODEL_FOR_MASKED_LM_MAPPING_NAMES

from .batching import Batch

CHUNK_BYTES = 128 * 2**20


def is_decoder_only(config: Any) -> bool:
    """Causal decoders, whose attention transformers confines to each example of a packed row;
    encoders (they have a masked-LM head) attend both ways and are never packed."""
    model_type = getattr(config, "model_type", "")
    return model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES and not getattr(config, "is_encoder_decoder", False)


def _plain_head(config: Any) -> bool:
    """Whether the causal head is lm_head(hidden) alone (no logit soft-capping or scaling)."""
    return getattr(config, "final_logit_softcapping", None) is None and getattr(config, "logit_scale", None) is None


class StepLoss(torch.nn.Module):
    """The module a training step calls (and DDP or torch.compile wraps): batch -> summed loss."""

    def __init__(self, model: torch.nn.Module, classify: bool) -> None:
        super().__init__()
        self.model = model
        self.classify = classify
        transformers_model: Any = model.get_base_model() if hasattr(model, "get_base_model") else model
        config = transformers_model.config
        self.reads_positions = is_decoder_only(config) and (classify or _plain_head(config))
        self.body: Any = transformers_model.base_model if self.reads_positions else None
        self.head: Any = (transformers_model.score if classify else transformers_model.get_output_embeddings()) if self.reads_positions else None

    def forward(self, batch: Batch) -> torch.Tensor:
        if not self.reads_positions:
            return self._whole_forward(batch)
        hidden = self.body(input_ids=batch.input_ids, attention_mask=batch.attention_mask, **_packing(batch)).last_hidden_state
        read = hidden[batch.rows, batch.cols]
        # A classifier's few logits need no chunks.
        return _chunk_loss(self.head, read, batch.targets) if self.classify else chunked_cross_entropy(self.head, read, batch.targets)

    def _whole_forward(self, batch: Batch) -> torch.Tensor:
        logits = self.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, **_packing(batch)).logits
        if self.classify:
            return torch.nn.functional.cross_entropy(logits.float(), batch.targets, reduction="sum")
        return torch.nn.functional.cross_entropy(logits[batch.rows, batch.cols].float(), batch.targets, reduction="sum")


def _packing(batch: Batch) -> dict[str, Any]:
    """A packed row's keyword arguments: its position ids and, for the varlen attention paths, its
    example boundaries. With no cache, or transformers ignores the position ids when masking."""
    if batch.position_ids is None:
        return {}
    bounds = {"cu_seq_lens_q": batch.starts, "cu_seq_lens_k": batch.starts, "max_length_q": batch.longest, "max_length_k": batch.longest}
    return {"position_ids": batch.position_ids, "use_cache": False, **bounds}


def _chunk_loss(head: torch.nn.Module, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(head(hidden).float(), targets, reduction="sum")


def chunked_cross_entropy(head: torch.nn.Module, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """sum of cross_entropy(head(hidden)) over rows, at most CHUNK_BYTES of fp32 logits at a time."""
    # out_features, not weight.shape: a quantized weight is stored packed.
    vocab = int(getattr(head, "out_features", 0) or head.weight.shape[0])
    rows = max(1, CHUNK_BYTES // (4 * vocab))
    if hidden.shape[0] <= rows:
        return _chunk_loss(head, hidden, targets)
    total = hidden.new_zeros((), dtype=torch.float32)
    for start in range(0, hidden.shape[0], rows):
        total = total + checkpoint(_chunk_loss, head, hidden[start : start + rows], targets[start : start + rows], use_reentrant=False)
    return total
