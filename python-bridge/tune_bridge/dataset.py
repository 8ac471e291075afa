"""Reader for tune's tokenized-dataset format (DESIGN.md, contract 2), without re-tokenizing.

Columns are little-endian binary files mapped with numpy.memmap, so a large split costs no
memory until read: input_ids (uint32) indexed by offsets (uint64, count + 1 entries), token
labels (int32, -100 masked) and/or one class id per example (int32).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import torch

FORMAT = "tune-tokenized-dataset"
FORMAT_VERSION = 1
_DTYPES = {"uint32": "<u4", "uint64": "<u8", "int32": "<i4"}


@dataclass(frozen=True)
class TokenizedSplit:
    manifest: dict
    example_ids: list[str]
    input_ids: npt.NDArray[np.uint32]
    offsets: npt.NDArray[np.uint64]
    labels: Optional[npt.NDArray[np.int32]]
    class_ids: Optional[npt.NDArray[np.int32]]

    def __len__(self) -> int:
        return int(self.manifest["count"])

    def ids(self, i: int) -> npt.NDArray[np.uint32]:
        return self.input_ids[int(self.offsets[i]) : int(self.offsets[i + 1])]

    def token_labels(self, i: int) -> Optional[npt.NDArray[np.int32]]:
        if self.labels is None:
            return None
        return self.labels[int(self.offsets[i]) : int(self.offsets[i + 1])]


def read_split(directory: str | Path) -> TokenizedSplit:
    """Opens one split; raises ValueError naming the file when it is not a dataset this reader knows."""
    root = Path(directory)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{root / 'manifest.json'}: not a {FORMAT} v{FORMAT_VERSION} manifest")
    columns = manifest["columns"]

    def column(name: str) -> Optional[np.ndarray]:
        entry = columns.get(name)
        if entry is None:
            return None
        if entry["length"] == 0:
            return np.zeros(0, dtype=_DTYPES[entry["dtype"]])
        data = np.memmap(root / entry["file"], dtype=_DTYPES[entry["dtype"]], mode="r")
        if data.shape[0] != entry["length"]:
            raise ValueError(f"{root / entry['file']}: {data.shape[0]} values, manifest says {entry['length']}")
        return data

    input_ids = column("input_ids")
    offsets = column("offsets")
    assert input_ids is not None and offsets is not None
    return TokenizedSplit(
        manifest=manifest,
        example_ids=json.loads((root / manifest["example_ids"]).read_text(encoding="utf-8")),
        input_ids=input_ids,
        offsets=offsets,
        labels=column("labels"),
        class_ids=column("class_ids"),
    )


def right_padded(split: TokenizedSplit, indices: list[int], pad: int) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Ids and attention mask of a micro-batch, right-padded to its longest row (as the tfjs engine's padBatch)."""
    import torch

    rows = [split.ids(i).astype("int64") for i in indices]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for b, row in enumerate(rows):
        ids[b, : len(row)] = torch.from_numpy(row)
        mask[b, : len(row)] = 1
    return ids, mask
