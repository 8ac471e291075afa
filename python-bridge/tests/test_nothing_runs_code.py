"""Nothing from a checkpoint or a model folder runs code: pickles are refused, remote code needs the recipe's word."""

from __future__ import annotations

import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python-bridge"))

from tune_bridge.checkpoint import LEGACY_RNG_STATE, RNG_STATE, restore_checkpoint, save_checkpoint  # noqa: E402
from tune_bridge.modeling import adapted_model, base_model, load_trained  # noqa: E402
from tune_bridge.protocol import Refused  # noqa: E402


class Planted:
    """Unpickling this creates a file: the proof that a loader ran code from a checkpoint."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def _plan(task: str = "causal-lm", trust: bool = False) -> dict[str, Any]:
    return {
        "task": task,
        "model": {"base": "local", "dtype": "float32", "trust_remote_code": trust},
        "quantization": None,
        "lora": {"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"], "bias": "none", "rslora": False, "dora": False, "modules_to_save": [], "task_type": "CAUSAL_LM", "init": "default"},
        "training": {"seed": 3, "gradient_checkpointing": False},
        "data": {"labels": None},
    }


@pytest.fixture()
def model_dir(tmp_path: Path) -> Path:
    config = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32)
    torch.manual_seed(0)
    directory = tmp_path / "model"
    LlamaForCausalLM(config).save_pretrained(directory, safe_serialization=True)
    return directory


@pytest.fixture()
def checkpoint(tmp_path: Path, model_dir: Path) -> tuple[Path, Any, torch.optim.Optimizer]:
    device = torch.device("cpu")
    model = adapted_model(_plan(), str(model_dir), device, None)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model(input_ids=torch.tensor([[1, 2, 3]]), labels=torch.tensor([[1, 2, 3]])).loss.backward()
    optimizer.step()
    run = tmp_path / "run"
    run.mkdir()
    saved = save_checkpoint(run, 1, model, optimizer, {"global_step": 1}, {"tune_version": "test"})
    return saved, model, optimizer


def test_checkpoints_keep_no_pickle_of_rng_state_and_resume_it(checkpoint: tuple[Path, Any, torch.optim.Optimizer]) -> None:
    saved, model, optimizer = checkpoint
    assert (saved / RNG_STATE).is_file() and not (saved / LEGACY_RNG_STATE).exists()
    expected = torch.rand(4)
    torch.manual_seed(1234)
    assert restore_checkpoint(saved, model, optimizer, torch.device("cpu")) == 1
    # The generator is back where the checkpoint was written, before `expected` was drawn.
    assert torch.equal(torch.rand(4), expected)


@pytest.mark.parametrize("planted", ["optimizer.pt", "scheduler.pt", LEGACY_RNG_STATE])
def test_a_planted_pickle_is_refused_and_never_runs(tmp_path: Path, checkpoint: tuple[Path, Any, torch.optim.Optimizer], planted: str) -> None:
    saved, model, optimizer = checkpoint
    marker = tmp_path / "code-ran"
    if planted == LEGACY_RNG_STATE:
        (saved / RNG_STATE).unlink()
    (saved / planted).write_bytes(pickle.dumps({"cpu": Planted(marker), "step": Planted(marker)}))
    with pytest.raises(Refused) as refused:
        restore_checkpoint(saved, model, optimizer, torch.device("cpu"))
    assert refused.value.code == "checkpoint-unsafe-file"
    assert planted in str(refused.value)
    assert not marker.exists()


def test_a_legacy_rng_state_of_plain_tensors_still_resumes(checkpoint: tuple[Path, Any, torch.optim.Optimizer]) -> None:
    saved, model, optimizer = checkpoint
    (saved / RNG_STATE).unlink()
    state = torch.get_rng_state()
    torch.save({"cpu": state}, saved / LEGACY_RNG_STATE)
    torch.manual_seed(99)
    restore_checkpoint(saved, model, optimizer, torch.device("cpu"))
    assert torch.equal(torch.get_rng_state(), state)


def test_a_model_that_ships_code_is_refused_unless_the_recipe_trusts_it(tmp_path: Path, model_dir: Path) -> None:
    marker = tmp_path / "remote-code-ran"
    (model_dir / "configuration_evil.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).touch()\nfrom transformers import LlamaConfig\nclass EvilConfig(LlamaConfig):\n    model_type = 'evil'\n")
    config = json.loads((model_dir / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "configuration_evil.EvilConfig"}
    config["model_type"] = "evil"
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(Refused) as refused:
        base_model(_plan(), str(model_dir), torch.device("cpu"))
    assert refused.value.code == "model-needs-remote-code"
    assert "trust_remote_code: true" in refused.value.hint
    assert not marker.exists()


def test_a_model_folder_with_pickled_weights_only_is_not_read(tmp_path: Path, model_dir: Path) -> None:
    marker = tmp_path / "weights-code-ran"
    (model_dir / "model.safetensors").unlink()
    (model_dir / "pytorch_model.bin").write_bytes(pickle.dumps(Planted(marker)))
    with pytest.raises(Refused) as refused:
        base_model(_plan(), str(model_dir), torch.device("cpu"))
    assert refused.value.code == "model-unloadable"
    assert not marker.exists()


def test_a_pickled_adapter_is_refused(tmp_path: Path, model_dir: Path) -> None:
    marker = tmp_path / "adapter-code-ran"
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj"], "task_type": "CAUSAL_LM"}))
    (adapter / "adapter_model.bin").write_bytes(pickle.dumps(Planted(marker)))
    with pytest.raises(Refused) as refused:
        load_trained(_plan(), str(model_dir), str(adapter), torch.device("cpu"))
    assert refused.value.code == "adapter-not-safetensors"
    assert not marker.exists()
