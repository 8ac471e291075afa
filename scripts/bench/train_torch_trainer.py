"""The hand-written reference of scripts/bench/train-torch.mjs: transformers' Trainer + PEFT.

  train --model DIR --split DIR --style seed|tuned --job FILE

`seed` trains the way the reference notebooks do: every example padded to max_length, batches in
random order. `tuned` is the same Trainer as an expert sets it up: dynamic padding
(DataCollatorWithPadding) and group_by_length. Both train on the token ids tune tokenized (no
re-tokenizing, so only the training differs) and print one JSON object: the training loop's
seconds (Trainer's train_runtime), the real (non-padding) and padded tokens it processed, and
the process's peak RSS.

  peak-flops
prints the fp32 matrix-multiply rate this machine's PyTorch reaches (for model FLOP utilisation).

scripts/gpu-e2e/run.py trains its GPU comparison through the same trainer_rows and train_rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train")
    train.add_argument("--model", required=True)
    train.add_argument("--split", required=True)
    train.add_argument("--style", choices=["seed", "tuned"], required=True)
    train.add_argument("--job", required=True)
    train.add_argument("--bridge", required=True)
    commands.add_parser("peak-flops").add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.command == "peak-flops":
        print(json.dumps(peak_flops(args.threads)))
    else:
        print(json.dumps(train_with_trainer(args.model, args.split, args.style, json.loads(Path(args.job).read_text()), args.bridge)))


def peak_flops(threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    for _ in range(3):
        a @ b
    started = time.perf_counter()
    runs = 20
    for _ in range(runs):
        a @ b
    seconds = time.perf_counter() - started
    return {"flops_per_s": runs * 2 * 1024**3 / seconds, "threads": threads}


def train_with_trainer(model_dir: str, split_dir: str, style: str, job: dict, bridge: str) -> dict:
    import torch

    torch.set_num_threads(job["threads"])
    import transformers
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    transformers.logging.set_verbosity_error()
    sys.dont_write_bytecode = True
    sys.path.insert(0, bridge)
    from tune_bridge.dataset import read_split

    split = read_split(split_dir)
    pad = 0
    rows = trainer_rows(split, style, job["max_length"], pad)
    torch.manual_seed(job["seed"])
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=job["num_labels"], dtype=torch.float32, pad_token_id=pad)
    lora = job["lora"]
    model = get_peft_model(model, LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"], target_modules=lora["target_modules"], task_type="SEQ_CLS"))
    result = train_rows(model, rows, style, job, str(Path(model_dir) / "tokenizer.json"), pad, use_cpu=True, bf16=False)
    real = sum(sum(r["attention_mask"]) for r in rows)
    return {
        "style": style,
        "seconds": result["seconds"],
        "real_tokens": real,
        "padded_tokens": sum(len(r["input_ids"]) for r in rows) if style == "seed" else None,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loss": result["loss"],
        "grad_norm": result["grad_norm"],
        "timing": result["timing"],
        # Frozen weights that take part in matrix products (embeddings are looked up, not multiplied).
        "base_parameters": sum(p.numel() for n, p in model.named_parameters() if not p.requires_grad and "embed" not in n),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def trainer_rows(split: Any, style: str, max_length: int, pad: int) -> list[dict]:
    """Each example of a tokenized classification split as the Trainer reads it: padded to
    max_length (`seed`: tokenizer(..., padding="max_length", truncation=True) in the notebooks)
    or as it is (`tuned`, for dynamic padding)."""
    rows = []
    for i in range(len(split)):
        ids = [int(t) for t in split.ids(i)]
        padding = max_length - len(ids) if style == "seed" else 0
        rows.append({"input_ids": ids + [pad] * padding, "attention_mask": [1] * len(ids) + [0] * padding, "labels": int(split.class_ids[i])})
    return rows


def train_rows(model: Any, rows: list[dict], style: str, job: dict, tokenizer_file: str, pad: int, use_cpu: bool, bf16: bool) -> dict:
    """One epoch of transformers' Trainer over `rows`, set up as `style` says (scripts/gpu-e2e runs
    it on the GPU too): the training loop's seconds (Trainer's train_runtime) and where they went
    (forward and backward, optimizer, the rest: batching, scheduling, logging), its train_loss,
    and its largest logged gradient norm."""
    import torch
    from transformers import DataCollatorWithPadding, PreTrainedTokenizerFast, Trainer, TrainerCallback, TrainingArguments

    class Rows(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(rows)

        def __getitem__(self, i: int) -> dict:
            return rows[i]

    arguments = TrainingArguments(
        output_dir=job["output_dir"],
        per_device_train_batch_size=job["batch_size"],
        gradient_accumulation_steps=job["accumulation"],
        learning_rate=job["lr"],
        weight_decay=job.get("weight_decay", 0.0),
        max_grad_norm=job.get("max_grad_norm", 1.0),
        num_train_epochs=1,
        warmup_steps=job["warmup_steps"],
        lr_scheduler_type="linear",
        logging_steps=10,
        save_strategy="no",
        report_to=[],
        use_cpu=use_cpu,
        bf16=bf16,
        seed=job["seed"],
        train_sampling_strategy="group_by_length" if style == "tuned" else "random",
        dataloader_num_workers=0,
        remove_unused_columns=False,
        disable_tqdm=True,
    )
    collator = None
    if style == "tuned":
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=tokenizer_file)
        tokenizer.pad_token = tokenizer.convert_ids_to_tokens(pad)
        collator = DataCollatorWithPadding(tokenizer)
    timing = {"forward_backward_s": 0.0, "optimizer_s": 0.0}

    class TimedTrainer(Trainer):
        def training_step(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            loss = super().training_step(*args, **kwargs)
            timing["forward_backward_s"] += time.perf_counter() - started
            return loss

    class OptimizerTime(TrainerCallback):
        def on_pre_optimizer_step(self, *_args, **_kwargs) -> None:  # type: ignore[no-untyped-def]
            timing["optimizer_started"] = time.perf_counter()

        def on_optimizer_step(self, *_args, **_kwargs) -> None:  # type: ignore[no-untyped-def]
            timing["optimizer_s"] += time.perf_counter() - timing.pop("optimizer_started")

    trainer = TimedTrainer(model=model, args=arguments, train_dataset=Rows(), data_collator=collator, callbacks=[OptimizerTime()])
    # transformers 5.18's Trainer hands num_items_in_batch to the PEFT model (its forward takes
    # **kwargs), whose classification loss ignores it, and then skips dividing by the accumulation
    # steps: every micro-batch's mean is summed, so the logged loss and the gradient are x4 (the
    # clipped update hides it). Declaring the model's loss blind to it restores mean-over-step
    # semantics, which is what the engine computes.
    trainer.model_accepts_loss_kwargs = False
    result = trainer.train()
    seconds = result.metrics["train_runtime"]
    return {
        "seconds": seconds,
        "loss": result.training_loss,
        "grad_norm": max((entry["grad_norm"] for entry in trainer.state.log_history if "grad_norm" in entry), default=0.0),
        "timing": {**timing, "other_s": seconds - timing["forward_backward_s"] - timing["optimizer_s"]},
    }


if __name__ == "__main__":
    main()
