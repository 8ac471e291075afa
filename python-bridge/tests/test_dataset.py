"""The Python reader opens what `tune prepare` writes, and the ids are the reference tokenizer's."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python-bridge"))

from tune_bridge.dataset import read_split  # noqa: E402


def prepare(recipe: str, cache: Path, *extra: str) -> dict:
    result = subprocess.run(
        ["node", str(ROOT / "bin" / "tune.js"), "prepare", recipe, "--json", *extra],
        cwd=ROOT,
        env={**os.environ, "TUNE_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_classification_ids_match_the_reference_tokenizer(tmp_path: Path) -> None:
    prepared = prepare("recipes/quickstart.yaml", tmp_path)
    tokenizer = Tokenizer.from_file(str(tmp_path / "builtin" / "tiny-llama" / "tokenizer.json"))
    with open(ROOT / "recipes" / "data" / "quickstart" / "reviews.csv", newline="", encoding="utf-8") as handle:
        texts = {str(line): row["text"] for line, row in enumerate(csv.DictReader(handle), start=2)}
    seen = 0
    for name in ("train", "eval", "test"):
        split = read_split(prepared["splits"][name]["dir"])
        assert len(split) == prepared["splits"][name]["examples"] == len(split.example_ids)
        assert split.labels is None and split.class_ids is not None
        assert set(split.class_ids.tolist()) <= {0, 1}
        assert np.all(np.diff(split.offsets.astype(np.int64)) > 0)
        for i, example_id in enumerate(split.example_ids):
            assert split.ids(i).tolist() == tokenizer.encode(texts[example_id]).ids
            seen += 1
    assert seen == 360


def test_chat_labels_mask_everything_but_assistant_turns(tmp_path: Path) -> None:
    prepared = prepare("recipes/stop-hate.yaml", tmp_path, "--model", "builtin:tiny-llama")
    split = read_split(prepared["splits"]["train"]["dir"])
    tokenizer = Tokenizer.from_file(str(tmp_path / "builtin" / "tiny-llama" / "tokenizer.json"))
    eos = tokenizer.token_to_id("</s>")
    for i in range(len(split)):
        ids = split.ids(i)
        labels = split.token_labels(i)
        assert labels is not None and labels.shape == ids.shape
        trained = labels != -100
        assert np.array_equal(labels[trained], ids[trained].astype(np.int32))
        assert not trained[0], "the prompt is never trained"
        assert labels[-1] == eos, "the end of the assistant's turn is trained"
    assert int(sum(int((split.token_labels(i) != -100).sum()) for i in range(len(split)))) == prepared["splits"]["train"]["trained_tokens"]


def test_a_foreign_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other", "format_version": 1}))
    with pytest.raises(ValueError, match="not a tune-tokenized-dataset v1 manifest"):
        read_split(tmp_path)
