"""Forward-pass batches of an optimizer step, built with numpy from the memory-mapped split.

Padding-free (decoders): the examples of a forward pass are concatenated into one row, with
position ids restarting at each example, so attention stays inside each example (attention.py,
FlashAttention-2's varlen path, or transformers' packed-sequence masking) and no compute goes to
padding. A step's micro-batches are packed whole examples at a time into rows no longer than the padded
run's largest micro-batch: the step sees exactly the examples the padded run sees and,
since every loss is a sum normalised by the whole step's units, the same loss and gradient, in
fewer forward passes and no more memory.

Padded (encoders, or `training.padding_free: false`): one forward pass per micro-batch, rows
right-padded to the longest, as the tfjs engine batches.

Either way a batch names the positions the loss reads (`rows`, `cols`): each example's last
non-pad token for classification (as transformers pools), each position whose next token is trained for causal LM, and their targets.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Callable, Optional

import numpy as np
import numpy.typing as npt
import torch

from .dataset import TokenizedSplit


@dataclass
class Batch:
    input_ids: torch.Tensor
    # Exactly one of the two: position ids of a packed row, or the attention mask of padded rows.
    position_ids: Optional[torch.Tensor]
    attention_mask: Optional[torch.Tensor]
    rows: torch.Tensor
    cols: torch.Tensor
    targets: torch.Tensor
    # A packed row's example boundaries (cumulative lengths) and longest example, as FlashAttention's
    # varlen path (and attention.py) take them; None for padded rows.
    starts: Optional[torch.Tensor] = None
    longest: int = 0

    def _map(self, change: Callable[[torch.Tensor], torch.Tensor]) -> "Batch":
        tensors = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(self, **{name: change(value) for name, value in tensors.items() if isinstance(value, torch.Tensor)})

    def pinned(self) -> "Batch":
        """In page-locked memory, so the copy to a GPU does not block the host (done while the
        previous step computes)."""
        return self._map(torch.Tensor.pin_memory)

    def to(self, device: torch.device) -> "Batch":
        """On CUDA, copied without blocking the host; on the CPU, as is."""
        return self if device.type != "cuda" else self._map(lambda tensor: tensor.to(device, non_blocking=True))


class StepBatcher:
    """Per-example facts of a split computed once, so a step's batches are a few numpy gathers."""

    def __init__(self, split: TokenizedSplit, classify: bool, pad: int) -> None:
        self.split = split
        self.classify = classify
        self.pad = pad
        self.offsets = np.asarray(split.offsets, dtype=np.int64)
        self.lengths = np.diff(self.offsets)
        if classify:
            assert split.class_ids is not None
            self.units = np.ones(len(split), dtype=np.int64)
        else:
            # Trained tokens of each example that some earlier token predicts (labels[1:] != -100).
            trained = np.zeros(len(split.input_ids) + 1, dtype=np.int64)
            if split.labels is not None:
                trained[1:] = np.cumsum(np.asarray(split.labels) != -100)
            self.units = trained[self.offsets[1:]] - trained[np.minimum(self.offsets[:-1] + 1, self.offsets[1:])]

    def step_units(self, micro_batches: list[list[int]]) -> int:
        """What the step's loss is normalised by: its examples, or its trained tokens."""
        return int(sum(int(self.units[np.asarray(m, dtype=np.int64)].sum()) for m in micro_batches))

    def padded(self, indices: list[int]) -> Batch:
        return self._batch(np.asarray(indices, dtype=np.int64), packed=False)

    def packed(self, micro_batches: list[list[int]], batch_size: int) -> list[Batch]:
        """The micro-batches' examples, in order, in as few rows as whole examples allow, each row
        no longer than the padded run's largest micro-batch (batch_size x the split's longest
        example), which the padded run has to fit anyway: memory peaks no higher."""
        examples = np.asarray([i for m in micro_batches for i in m], dtype=np.int64)
        token_budget = batch_size * int(self.lengths.max())
        batches: list[Batch] = []
        start, used = 0, 0
        for position, length in enumerate(self.lengths[examples].tolist()):
            if position > start and used + length > token_budget:
                batches.append(self._batch(examples[start:position], packed=True))
                start, used = position, 0
            used += length
        if len(examples) > start:
            batches.append(self._batch(examples[start:], packed=True))
        return batches

    def _batch(self, examples: npt.NDArray[np.int64], packed: bool) -> Batch:
        lengths = self.lengths[examples]
        total = int(lengths.sum())
        # Where each example starts in the concatenated tokens, and each token's place in its example.
        example_starts = np.cumsum(lengths) - lengths
        position = np.arange(total, dtype=np.int64) - np.repeat(example_starts, lengths)
        source = np.repeat(self.offsets[examples], lengths) + position
        tokens = np.asarray(self.split.input_ids[source], dtype=np.int64)
        example_row = np.repeat(np.arange(len(examples), dtype=np.int64), lengths)
        # Where each token sits in the batch: one packed row, or (example, position) when padded.
        row = np.zeros(total, dtype=np.int64) if packed else example_row
        col = np.arange(total, dtype=np.int64) if packed else position
        width = total if packed else int(lengths.max())
        ids = np.full((1 if packed else len(examples), width), self.pad, dtype=np.int64)
        ids[row, col] = tokens
        if self.classify:
            assert self.split.class_ids is not None
            # transformers' pooling: the example's last token that is not the pad id (its first when
            # all are), so a text ending in the pad token's id reads as transformers reads it.
            last = np.maximum.reduceat(np.where(tokens != self.pad, np.arange(total), -1), example_starts)
            last = np.where(last >= 0, last, example_starts)
            read_rows, read_cols = row[last], col[last]
            targets = np.asarray(self.split.class_ids[examples], dtype=np.int64)
        else:
            labels = np.asarray(self.split.labels[source], dtype=np.int64) if self.split.labels is not None else np.full(total, -100, dtype=np.int64)
            has_next = position < np.repeat(lengths, lengths) - 1
            following = np.append(labels[1:], -100)
            read = np.flatnonzero(has_next & (following != -100))
            read_rows, read_cols, targets = row[read], col[read], following[read]
        if packed:
            starts = torch.from_numpy(np.append(example_starts, total).astype(np.int32))
            return Batch(torch.from_numpy(ids), torch.from_numpy(position).unsqueeze(0), None, torch.from_numpy(read_rows), torch.from_numpy(read_cols), torch.from_numpy(targets), starts, int(lengths.max()))
        attention = np.zeros(ids.shape, dtype=np.int64)
        attention[row, col] = 1
        return Batch(torch.from_numpy(ids), None, torch.from_numpy(attention), torch.from_numpy(read_rows), torch.from_numpy(read_cols), torch.from_numpy(targets))
