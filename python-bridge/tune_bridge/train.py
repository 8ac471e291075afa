"""The torch engine's training run, step for step the tfjs engine's loop (src/engine/tfjs/train-tfjs.ts).

The data order comes from the runner (batches.json), so both engines see the same batches; a
step's examples run padding-free where the model allows (batching.py), the loss is read only
where it is trained (loss.py), and each forward pass's summed loss is divided by the units
(examples, or trained tokens) of the whole optimizer step, so gradient accumulation equals one
large batch; then clipping, the shared learning-rate schedule and AdamW. Nothing waits on the
device inside a step until its loss and gradient norm are read, and the next step's batches are
gathered on a worker thread meanwhile. A checkpoint at each boundary, then predictions for the
evaluator. SIGINT or SIGTERM ask for a checkpoint at the next step boundary.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from .batching import Batch, StepBatcher
from .checkpoint import restore_adapter, restore_checkpoint, restore_training_state, save_checkpoint
from .dataset import TokenizedSplit, read_split
from .fsdp import full_adapter_state, full_optimizer_state, shard, shard_optimizer_state, total_norm
from .heartbeat import start_heartbeat
from .loss import StepLoss, is_decoder_only
from .modeling import adapted_model, pad_id, pick_device
from .nodes_agree import check_nodes_agree
from .optim import autocast_dtype, make_optimizer
from .predict import classify, generate_answers
from .protocol import NodeLost, Refused, emit
from .schedule import learning_rate

_stop_requested = False


def _request_stop(_signum: int, _frame: object) -> None:
    global _stop_requested
    _stop_requested = True


def train(plan: dict[str, Any], model_dir: str, batches: list[list[list[int]]], resume: str | None, init: str | None, provenance: dict[str, Any]) -> None:
    """The plan's schedule (total and warmup steps, checkpoint interval, micro-batches per step)
    and `batches`, each epoch's micro-batches of example indices, both come from the runner."""
    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    device = pick_device()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
        check_nodes_agree(plan, batches, resume)
        heartbeat = start_heartbeat(float(((plan.get("distributed") or {}).get("rendezvous") or {}).get("timeout_s", 300)), _end_run)
    else:
        heartbeat = None
    try:
        train_model(plan, adapted_model(plan, model_dir, device, init), model_dir, batches, resume, provenance, device)
    except Exception as error:
        # A collective that failed because another node died says only "connection closed".
        lost = heartbeat.lost() if heartbeat is not None and not isinstance(error, Refused) else None
        if lost is not None:
            raise lost from error
        raise
    finally:
        if heartbeat is not None:
            heartbeat.stop()


def _end_run(lost: NodeLost) -> None:
    # From the heartbeat's thread, while the main thread waits in a collective that may never return.
    emit("error", code="node-lost", message=str(lost), hint=lost.hint)
    os._exit(1)


def train_model(plan: dict[str, Any], model: Any, model_dir: str, batches: list[list[list[int]]], resume: str | None, provenance: dict[str, Any], device: torch.device) -> None:
    """The training loop on an adapted model (scripts/gpu-e2e builds its own base, from a config,
    and calls this as the worker does)."""
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    if plan["model"]["source"]["kind"] == "hub":
        model.peft_config["default"].base_model_name_or_path = plan["model"]["source"]["id"]
    else:
        model.peft_config["default"].base_model_name_or_path = model_dir
    training = plan["training"]
    classify_task = plan["task"] == "sequence-classification"
    sharded = world > 1 and (plan.get("distributed") or {}).get("strategy") == "fsdp"
    autocast = autocast_dtype(training["precision"], device)
    if training["gradient_checkpointing"]:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    loss_module = StepLoss(model, classify_task)
    if sharded:
        if resume is not None:
            # Whole tensors go in before fully_shard splits them.
            restore_adapter(Path(resume), model, device)
        shard(loss_module, model, autocast)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(training["optimizer"], trainable, training["lr"], training["weight_decay"], device)
    manifests = plan["data"]["manifests"]
    train_split = read_split(Path(manifests["train"]).parent)
    pad = pad_id(model)
    # Micro-batches per optimizer step, over all processes; each rank takes every world-th one.
    schedule = plan["schedule"]
    accumulation = int(schedule["micro_batches_per_step"])
    total, warmup, every = int(schedule["total_steps"]), int(schedule["warmup_steps"]), int(schedule["checkpoint_every"])
    batcher = StepBatcher(train_split, classify_task, pad)
    packs = bool(training["padding_free"]) and is_decoder_only(model.config)
    step_loss: torch.nn.Module = loss_module
    if world > 1 and not sharded:
        step_loss = torch.nn.parallel.DistributedDataParallel(step_loss, device_ids=[device.index] if device.type == "cuda" else None)
    if training["compile"]:
        step_loss = torch.compile(step_loss, dynamic=True)
    run_dir = Path(plan["run_dir"])
    emit("start", engine="torch", backend=device.type, total_steps=total, trainable_parameters=sum(p.numel() for p in trainable), speed={"padding_free": packs, "compile": bool(training["compile"]), "attention": model.config._attn_implementation, "lean_loss": loss_module.reads_positions})

    step = 0
    history: list[dict[str, Any]] = []
    if resume is not None:
        if sharded:
            step = restore_training_state(Path(resume), optimizer, device)
            shard_optimizer_state(optimizer)
        else:
            step = restore_checkpoint(Path(resume), model, optimizer, device)
        history = json.loads((Path(resume) / "trainer_state.json").read_text(encoding="utf-8"))["log_history"]
        emit("resume", step=step, checkpoint=resume)
    model.train()
    last_checkpoint = resume or ""
    # Every optimizer step still to run: (epoch, its micro-batches, how far into the epoch it ends).
    steps = [(epoch, epoch_batches[first : first + accumulation], min(1.0, (first + accumulation) / len(epoch_batches))) for epoch, epoch_batches in enumerate(batches) for first in range(0, len(epoch_batches), accumulation)][step:total]

    def host_batches(micro_batches: list[list[int]]) -> list[Batch]:
        # A rank with no micro-batch in a short last step still joins the gradient all-reduce.
        mine = micro_batches[rank::world] or micro_batches[:1]
        built = batcher.packed(mine, int(training["batch_size"])) if packs else [batcher.padded(m) for m in mine]
        return [b.pinned() for b in built] if device.type == "cuda" else built

    timing = {"prepare_s": 0.0, "forward_backward_s": 0.0, "optimizer_s": 0.0, "checkpoint_s": 0.0}
    # The next step's batches are gathered on a worker thread while this step computes.
    with ThreadPoolExecutor(max_workers=1) as prefetch:
        upcoming = prefetch.submit(host_batches, steps[0][1]) if steps else None
        for position, (epoch, micro_batches, epoch_fraction) in enumerate(steps):
            started = time.perf_counter()
            assert upcoming is not None
            group = [b.to(device) for b in upcoming.result()]
            upcoming = prefetch.submit(host_batches, steps[position + 1][1]) if position + 1 < len(steps) else None
            # DDP averages gradients over ranks; scaling by the world size makes that the sum.
            scale = (world if micro_batches[rank::world] else 0.0) / batcher.step_units(micro_batches)
            weights = [scale] * len(group)
            if sharded:
                # Each forward all-gathers layers with the other ranks, so every rank runs as many:
                # one with fewer batches repeats its first, weighted 0.
                most = torch.tensor(len(group), device=device)
                torch.distributed.all_reduce(most, op=torch.distributed.ReduceOp.MAX)
                group, weights = group + group[:1] * (int(most) - len(group)), weights + [0.0] * (int(most) - len(group))
            lr = learning_rate(step, total, warmup, training["lr"], training["scheduler"])
            for group_param in optimizer.param_groups:
                group_param["lr"] = lr
            computed = time.perf_counter()
            timing["prepare_s"] += computed - started
            loss_total = torch.zeros((), dtype=torch.float32, device=device)
            for index, (batch, weight) in enumerate(zip(group, weights)):
                sync = index == len(group) - 1 or world == 1
                if sharded:
                    loss_module.set_requires_gradient_sync(sync)  # type: ignore[attr-defined]
                with contextlib.nullcontext() if sync or sharded else step_loss.no_sync():  # type: ignore[operator]
                    with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
                        loss = step_loss(batch) * weight
                    loss.backward()
                loss_total += loss.detach() / world
            backward_done = time.perf_counter()
            timing["forward_backward_s"] += backward_done - computed
            if world > 1:
                reduced = torch.stack([loss_total, torch.tensor(float(_stop_requested), device=device)])
                torch.distributed.all_reduce(reduced)
                loss_value, stop_anywhere = float(reduced[0]), bool(reduced[1] > 0)
            else:
                loss_value, stop_anywhere = float(loss_total), _stop_requested
            max_norm = training["max_grad_norm"]
            grad_norm = total_norm(torch.nn.utils.clip_grad_norm_(trainable, max_norm if max_norm > 0 else float("inf")))
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            stepped = time.perf_counter()
            timing["optimizer_s"] += stepped - backward_done
            epoch_progress = round(epoch + epoch_fraction, 3)
            tokens = int(batcher.lengths[[i for m in micro_batches for i in m]].sum())
            if step % training["logging_steps"] == 0 or step == total:
                history.append({"loss": loss_value, "grad_norm": grad_norm, "learning_rate": lr, "epoch": epoch_progress, "step": step})
                # Peak GPU memory on CUDA; on the CPU, the process's peak RSS (Linux reports KiB).
                memory = torch.cuda.max_memory_allocated() / 1e6 if device.type == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                emit("step", step=step, epoch=epoch_progress, loss=loss_value, lr=lr, grad_norm=grad_norm, tokens_per_s=round(tokens / max(stepped - started, 1e-9)), memory_mb=round(memory), tensors=0)
            stopping = step < total and stop_anywhere
            if step % every == 0 or step == total or stopping:
                # Written once, by rank 0; the others wait for it (a sharded model's state is first
                # gathered by all).
                gathered = (full_adapter_state(model), full_optimizer_state(optimizer)) if sharded else None
                if rank == 0:
                    state = _trainer_state(plan, step, epoch_progress, total, history)
                    last_checkpoint = str(save_checkpoint(run_dir, step, model, optimizer, state, {"tune_version": provenance.get("tune_version"), "provenance": {**provenance, "engine": {"name": "torch", "backend": device.type, "torch": torch.__version__, "processes": world}}}, gathered))
                    emit("checkpoint", step=step, dir=last_checkpoint)
                    # A sharded model predicts only with every rank: the runner has each checkpoint
                    # it was not told about predicted after training, in one process.
                    if not stopping and not sharded:
                        _predict_eval_splits(model, plan, model_dir, pad, device, Path(last_checkpoint), step)
                if world > 1:
                    torch.distributed.barrier()
                timing["checkpoint_s"] += time.perf_counter() - stepped
            if stopping:
                emit("stopped", step=step, checkpoint=last_checkpoint)
                _leave_group(world)
                return
    emit("end", step=step, checkpoint=last_checkpoint, timing={name: round(seconds, 3) for name, seconds in timing.items()})
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
