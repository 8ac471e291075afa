"""The torch engine's training run, step for step the tfjs engine's loop (src/engine/tfjs/train-tfjs.ts).

The data order comes from the runner (batches.json), so both engines see the same batches; the
loss of each micro-batch is divided by the units (examples, or trained tokens) of the whole
optimizer step, so gradient accumulation equals one large batch; then clipping, the shared
learning-rate schedule and AdamW. A checkpoint at each boundary, then predictions for the
evaluator. SIGINT or SIGTERM ask for a checkpoint at the next step boundary.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import time
from pathlib import Path
from typing import Any

import torch

from .checkpoint import restore_checkpoint, save_checkpoint
from .dataset import TokenizedSplit, read_split, right_padded
from .modeling import adapted_model, pick_device
from .optim import autocast_dtype, make_optimizer
from .predict import classify, generate_answers
from .protocol import emit
from .schedule import learning_rate

_stop_requested = False


def _request_stop(_signum: int, _frame: object) -> None:
    global _stop_requested
    _stop_requested = True


def _pad_group(split: TokenizedSplit, indices: list[int], pad: int, device: torch.device) -> dict[str, torch.Tensor]:
    ids, mask = right_padded(split, indices, pad)
    labels = torch.full(ids.shape, -100, dtype=torch.long)
    for b, i in enumerate(indices):
        token_labels = split.token_labels(i)
        if token_labels is not None:
            labels[b, : len(token_labels)] = torch.from_numpy(token_labels.astype("int64"))
    out = {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device)}
    if split.class_ids is not None:
        out["class_ids"] = torch.tensor([int(split.class_ids[i]) for i in indices], dtype=torch.long, device=device)
    return out


def _split_units(split: TokenizedSplit, indices: list[int], classify_task: bool) -> int:
    """What a micro-batch's loss is normalised by: its examples, or its trained tokens."""
    if classify_task:
        return len(indices)
    total = 0
    for i in indices:
        labels = split.token_labels(i)
        total += int((labels[1:] != -100).sum()) if labels is not None else 0
    return total


def _loss_sum(model: torch.nn.Module, batch: dict[str, torch.Tensor], classify_task: bool) -> torch.Tensor:
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
    if classify_task:
        return torch.nn.functional.cross_entropy(logits, batch["class_ids"], reduction="sum")
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), batch["labels"][:, 1:].reshape(-1), ignore_index=-100, reduction="sum")


def train(plan: dict[str, Any], model_dir: str, batches: list[list[list[int]]], resume: str | None, init: str | None, provenance: dict[str, Any]) -> None:
    """The plan's schedule (total and warmup steps, checkpoint interval, micro-batches per step)
    and `batches`, each epoch's micro-batches of example indices, both come from the runner."""
    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    device = pick_device()
    if world > 1:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    model = adapted_model(plan, model_dir, device, init)
    if plan["model"]["source"]["kind"] == "hub":
        model.peft_config["default"].base_model_name_or_path = plan["model"]["source"]["id"]
    else:
        model.peft_config["default"].base_model_name_or_path = model_dir
    training = plan["training"]
    classify_task = plan["task"] == "sequence-classification"
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(training["optimizer"], trainable, training["lr"], training["weight_decay"], device)
    autocast = autocast_dtype(training["precision"], device)
    if training["gradient_checkpointing"]:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    manifests = plan["data"]["manifests"]
    train_split = read_split(Path(manifests["train"]).parent)
    pad = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    # Micro-batches per optimizer step, over all processes; each rank takes every world-th one.
    schedule = plan["schedule"]
    accumulation = int(schedule["micro_batches_per_step"])
    total, warmup, every = int(schedule["total_steps"]), int(schedule["warmup_steps"]), int(schedule["checkpoint_every"])
    forward_model: torch.nn.Module = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) if world > 1 else model
    run_dir = Path(plan["run_dir"])
    emit("start", engine="torch", backend=device.type, total_steps=total, trainable_parameters=sum(p.numel() for p in trainable))

    step = 0
    history: list[dict[str, Any]] = []
    if resume is not None:
        step = restore_checkpoint(Path(resume), model, optimizer, device)
        history = json.loads((Path(resume) / "trainer_state.json").read_text(encoding="utf-8"))["log_history"]
        emit("resume", step=step, checkpoint=resume)
    model.train()
    consumed = 0
    last_checkpoint = resume or ""
    for epoch, epoch_batches in enumerate(batches):
        if step >= total:
            break
        for first in range(0, len(epoch_batches), accumulation):
            if step >= total:
                break
            consumed += 1
            if consumed <= step:
                continue
            started = time.perf_counter()
            indices_group = epoch_batches[first : first + accumulation]
            units = sum(_split_units(train_split, indices, classify_task) for indices in indices_group)
            mine = indices_group[rank::world]
            # A rank with no micro-batch in a short last step still joins the gradient all-reduce.
            group = [_pad_group(train_split, indices, pad, device) for indices in (mine or indices_group[:1])]
            lr = learning_rate(step, total, warmup, training["lr"], training["scheduler"])
            for group_param in optimizer.param_groups:
                group_param["lr"] = lr
            loss_total = 0.0
            for position, batch in enumerate(group):
                # DDP averages gradients over ranks; scaling by the world size makes that the sum.
                scale = (world if mine else 0.0) / units
                sync = position == len(group) - 1 or world == 1
                with contextlib.nullcontext() if sync else forward_model.no_sync():  # type: ignore[operator]
                    with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
                        loss = _loss_sum(forward_model, batch, classify_task) * scale
                    loss.backward()
                loss_total += float(loss) / world
            if world > 1:
                reduced = torch.tensor([loss_total, float(_stop_requested)], device=device)
                torch.distributed.all_reduce(reduced)
                loss_total = float(reduced[0])
                stop_anywhere = bool(reduced[1] > 0)
            else:
                stop_anywhere = _stop_requested
            max_norm = training["max_grad_norm"]
            grad_norm = float(torch.nn.utils.clip_grad_norm_(trainable, max_norm if max_norm > 0 else float("inf")))
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            epoch_progress = round(epoch + min(1.0, (first + accumulation) / len(epoch_batches)), 3)
            tokens = sum(int(b["attention_mask"].sum()) for b in group) * world
            if step % training["logging_steps"] == 0 or step == total:
                history.append({"loss": loss_total, "grad_norm": grad_norm, "learning_rate": lr, "epoch": epoch_progress, "step": step})
                # Peak GPU memory on CUDA; on the CPU, the process's peak RSS (Linux reports KiB).
                memory = torch.cuda.max_memory_allocated() / 1e6 if device.type == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                emit("step", step=step, epoch=epoch_progress, loss=loss_total, lr=lr, grad_norm=grad_norm, tokens_per_s=round(tokens / max(time.perf_counter() - started, 1e-9)), memory_mb=round(memory), tensors=0)
            stopping = step < total and stop_anywhere
            if step % every == 0 or step == total or stopping:
                # Written once, by rank 0; the others wait for it.
                if rank == 0:
                    state = _trainer_state(plan, step, epoch_progress, total, history)
                    last_checkpoint = str(save_checkpoint(run_dir, step, model, optimizer, state, {"tune_version": provenance.get("tune_version"), "provenance": {**provenance, "engine": {"name": "torch", "backend": device.type, "torch": torch.__version__, "processes": world}}}))
                    emit("checkpoint", step=step, dir=last_checkpoint)
                    if not stopping:
                        _predict_eval_splits(model, plan, model_dir, pad, device, Path(last_checkpoint), step)
                if world > 1:
                    torch.distributed.barrier()
            if stopping:
                emit("stopped", step=step, checkpoint=last_checkpoint)
                _leave_group(world)
                return
    emit("end", step=step, checkpoint=last_checkpoint)
    _leave_group(world)


def _leave_group(world: int) -> None:
    if world > 1:
        torch.distributed.destroy_process_group()


def _predict_eval_splits(model: Any, plan: dict[str, Any], model_dir: str, pad: int, device: torch.device, checkpoint: Path, step: int) -> None:
    # Prediction must not move the training RNG, or a resumed run would differ from this one.
    rng = torch.get_rng_state()
    model.eval()
    try:
        for split_name in plan["eval"]["splits"]:
            manifest = plan["data"]["manifests"].get(split_name)
            if manifest is None:
                continue
            file = checkpoint / "predictions" / f"{split_name}.jsonl"
            summary = predict_split(model, plan, model_dir, read_split(Path(manifest).parent), pad, device, file)
            emit("predictions", step=step, checkpoint=str(checkpoint), split=split_name, file=str(file), **summary)
    finally:
        model.train()
        torch.set_rng_state(rng)


def predict_split(model: Any, plan: dict[str, Any], model_dir: str, split: TokenizedSplit, pad: int, device: torch.device, file: Path) -> dict[str, Any]:
    if plan["task"] == "sequence-classification":
        return classify(model, plan, split, pad, device, file)
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    eos = model.config.eos_token_id
    eos_ids = [int(e) for e in (eos if isinstance(eos, list) else [eos] if eos is not None else [])]
    return generate_answers(model, plan, split, tokenizer, pad, eos_ids, device, file)


def _trainer_state(plan: dict[str, Any], step: int, epoch: float, total: int, history: list[dict[str, Any]]) -> dict[str, Any]:
    every = plan["checkpoints"]["every"]
    return {
        "best_global_step": None,
        "best_metric": None,
        "best_model_checkpoint": None,
        "epoch": epoch,
        "eval_steps": None,
        "global_step": step,
        "is_hyper_param_search": False,
        "is_local_process_zero": True,
        "is_world_process_zero": True,
        "log_history": history,
        "logging_steps": plan["training"]["logging_steps"],
        "max_steps": total,
        "num_input_tokens_seen": 0,
        "num_train_epochs": plan["training"]["epochs"] or 0,
        "save_steps": 0 if every == "epoch" else every,
        "stateful_callbacks": {},
        "total_flos": 0,
        "train_batch_size": plan["training"]["batch_size"],
        "trial_name": None,
        "trial_params": None,
    }
