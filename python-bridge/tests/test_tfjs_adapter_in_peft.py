"""An adapter trained by either engine loads in PEFT and reproduces the engine's own predictions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python-bridge"))

from tune_bridge.dataset import read_split  # noqa: E402


@pytest.mark.parametrize(("model", "engine"), [("builtin:tiny-llama", "tfjs"), ("builtin:tiny-bert", "tfjs"), ("builtin:tiny-llama", "torch"), ("builtin:tiny-bert", "torch")])
def test_quickstart_adapter_reproduces_engine_probabilities(tmp_path: Path, model: str, engine: str) -> None:
    run = subprocess.run(
        ["node", str(ROOT / "bin" / "tune.js"), "recipe", "recipes/quickstart.yaml", "--model", model, "--engine", engine, "--out", str(tmp_path / "runs"), "--json"],
        cwd=ROOT,
        env={**os.environ, "TUNE_CACHE_DIR": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        check=True,
    )
    events = [json.loads(line) for line in run.stdout.splitlines()]
    checkpoint = Path(next(e for e in events if e["type"] == "end")["checkpoint"])
    config = json.loads((checkpoint / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["task_type"] == "SEQ_CLS"
    if model == "builtin:tiny-bert":
        # PEFT's all-linear on BERT includes the pooler (PEFT itself lists full names); the head is saved in full.
        expected = ["dense", "key", "query", "value"] if engine == "tfjs" else None
        assert config["target_modules"] == expected or "bert.pooler.dense" in config["target_modules"]

    base = AutoModelForSequenceClassification.from_pretrained(config["base_model_name_or_path"], num_labels=2, torch_dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(checkpoint)).eval()

    plan = json.loads((tmp_path / "runs" / "quickstart" / "plan.json").read_text())
    split = read_split(Path(plan["data"]["manifests"]["eval"]).parent)
    predictions = {row["id"]: row for row in map(json.loads, (checkpoint / "predictions" / "eval.jsonl").read_text().splitlines())}
    assert len(predictions) == len(split) == 72
    with torch.no_grad():
        for i, example_id in enumerate(split.example_ids):
            ids = torch.from_numpy(split.ids(i).astype("int64")).unsqueeze(0)
            probs = torch.softmax(model(input_ids=ids).logits[0], -1).tolist()
            expected = predictions[example_id]["probs"]
            assert abs(probs[0] - expected["negative"]) < 1e-4
            assert abs(probs[1] - expected["positive"]) < 1e-4
