"""Attention for packed rows without FlashAttention: each example attends on its own.

transformers' sdpa path confines a packed row's attention with a block-diagonal mask, which
costs the whole row's square (a row of eight 40-token examples computes 64 times one example's
attention) and keeps SDPA off its fused causal kernels. Here, given the row's example boundaries
(the `cu_seq_lens_q` and `max_length_q` keyword arguments transformers passes to FlashAttention-2's
varlen path, which StepLoss sets), the examples are gathered into a padded batch, attended with
causal SDPA, and gathered back: each example's square, nothing more, and nothing waits on the
device. Anything else (padded batches, generation with a cache) is transformers' sdpa unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

NAME = "tune_packed_sdpa"


def packed_sdpa_forward(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    starts = kwargs.get("cu_seq_lens_q")
    positions = kwargs.get("position_ids")
    if starts is None or positions is None or query.shape[0] != 1:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    longest = int(kwargs["max_length_q"])
    examples = starts.shape[0] - 1
    # Each token's slot in an [examples, longest] batch, from its position id (0 starts an example).
    position = positions[0].long()
    slot = (torch.cumsum(position == 0, dim=0) - 1) * longest + position

    def padded(states: torch.Tensor) -> torch.Tensor:
        tokens = states[0].transpose(0, 1)
        # Unique slots: a copy whose backward is a gather; the padding slots stay zero, after every
        # real token, where causal attention keeps them from the example's own positions.
        batch = tokens.new_zeros(examples * longest, *tokens.shape[1:]).index_copy(0, slot, tokens)
        return batch.view(examples, longest, *tokens.shape[1:]).transpose(1, 2)

    out = torch.nn.functional.scaled_dot_product_attention(
        padded(query),
        padded(key),
        padded(value),
        dropout_p=dropout if module.training else 0.0,
        is_causal=True,
        scale=scaling,
        enable_gqa=query.shape[1] != key.shape[1],
    )
    # Back to the row: [1, tokens, heads, dim], as transformers' attention functions return it.
    return out.transpose(1, 2).reshape(examples * longest, out.shape[1], out.shape[3]).index_select(0, slot).unsqueeze(0), None


AttentionInterface.register(NAME, packed_sdpa_forward)
# Padded batches and generation still need transformers' masks, built as for sdpa.
AttentionMaskInterface.register(NAME, sdpa_mask)
