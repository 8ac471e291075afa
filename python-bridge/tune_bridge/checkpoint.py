"""Checkpoints in tune's shared format (DESIGN.md, contract 4), never torn.

PEFT's own adapter files, trainer_state.json in the Trainer's schema, optimizer.pt,
scheduler.pt and rng_state.safetensors, then MANIFEST.json (sha256 of every file) last; all of
it built under a temporary name and renamed into place, as the TypeScript side writes its
checkpoints.

Nothing read back runs code: the RNG state is safetensors, and the two torch files go through
torch.load(weights_only=True), whose unpickler builds tensors and plain containers only. A file
it refuses is reported as a damaged checkpoint, never loaded another way.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from safetensors.torch import load_file, save_file

from .protocol import unsafe_file

RNG_STATE = "rng_state.safetensors"
# Where tune 0.1.0 kept it: a pickle, read with the restricted unpickler like the other torch files.
LEGACY_RNG_STATE = "rng_state.pth"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(directory: Path, extra: dict[str, Any]) -> None:
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        name = path.relative_to(directory).as_posix()
        if name == "MANIFEST.json":
            continue
        data = path.read_bytes()
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    temporary = directory / ".MANIFEST.json.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump({"manifest_version": 1, **extra, "files": files}, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, directory / "MANIFEST.json")


def save_checkpoint(
    run_dir: Path,
    step: int,
    model: PeftModel,
    optimizer: torch.optim.Optimizer,
    trainer_state: dict[str, Any],
    manifest: dict[str, Any],
    gathered: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None,
) -> Path:
    """`gathered`: a sharded (FSDP) run's adapter and optimizer state, already whole on this rank,
    written as the single-process run writes its own."""
    final = run_dir / f"checkpoint-{step}"
    temporary = run_dir / f"checkpoint-{step}.tmp-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    adapter_state, optimizer_state = gathered if gathered is not None else (None, optimizer.state_dict())
    model.save_pretrained(str(temporary), state_dict=adapter_state)
    (temporary / "trainer_state.json").write_text(json.dumps(trainer_state, indent=2) + "\n", encoding="utf-8")
    torch.save(optimizer_state, temporary / "optimizer.pt")
    torch.save({"step": step}, temporary / "scheduler.pt")
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"cuda.{i}": state for i, state in enumerate(torch.cuda.get_rng_state_all())})
    save_file(rng, str(temporary / RNG_STATE))
    for path in temporary.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    write_manifest(temporary, {**manifest, "step": step})
    replaced = run_dir / f"checkpoint-{step}.replaced-{os.getpid()}"
    if final.exists():
        os.replace(final, replaced)
    os.replace(temporary, final)
    _fsync_dir(run_dir)
    shutil.rmtree(replaced, ignore_errors=True)
    return final


def load_tensors_only(path: Path, device: torch.device | str = "cpu") -> Any:
    """A torch file read with the restricted unpickler; a file holding anything else is refused."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as error:
        raise unsafe_file(path, str(error).splitlines()[0]) from None


def restore_checkpoint(checkpoint: Path, model: PeftModel, optimizer: torch.optim.Optimizer, device: torch.device) -> int:
    """Adapter weights, optimizer moments and RNG state of a checkpoint; returns its step."""
    restore_adapter(checkpoint, model, device)
    return restore_training_state(checkpoint, optimizer, device)


def restore_adapter(checkpoint: Path, model: PeftModel, device: torch.device) -> None:
    """A checkpoint's adapter weights (a model to be sharded takes them before it is)."""
    from peft import set_peft_model_state_dict

    set_peft_model_state_dict(model, load_file(str(checkpoint / "adapter_model.safetensors"), device=str(device)))


def restore_training_state(checkpoint: Path, optimizer: torch.optim.Optimizer, device: torch.device) -> int:
    """A checkpoint's optimizer moments and RNG state; returns its step."""
    optimizer.load_state_dict(load_tensors_only(checkpoint / "optimizer.pt", device))
    if (checkpoint / RNG_STATE).exists():
        rng = load_file(str(checkpoint / RNG_STATE))
        cpu, cuda = rng["cpu"], [rng[f"cuda.{i}"] for i in range(len(rng)) if f"cuda.{i}" in rng]
    else:
        legacy = load_tensors_only(checkpoint / LEGACY_RNG_STATE)
        cpu, cuda = legacy["cpu"], list(legacy.get("cuda", []))
    torch.set_rng_state(cpu)
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    return int(load_tensors_only(checkpoint / "scheduler.pt")["step"])
