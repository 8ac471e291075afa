"""PyTorch side of scripts/bench/train-cpu.mjs: the reference LoRA training loop on CPU.

Two subcommands, each printing one JSON object on stdout (progress and warnings go to stderr):

  make-model DIR [--seed N]
      Fills DIR, which already holds config.json and the tokenizer files (written by the .mjs
      in tune's config format), with random float32 weights under transformers' names
      (model.safetensors), as LlamaForCausalLM initialises them.

  train --model DIR --split DIR --job FILE
      LoRA-trains AutoModelForSequenceClassification(num_labels=2) through PEFT on exactly the
      token ids and batches tune's tfjs engine trains on, and times every optimizer step.

The job file (JSON, written by the .mjs) fixes everything both engines must share: the batches
as lists of example indices in tune's tokenized dataset, the learning-rate schedule, the
classifier head's initial weights, the LoRA settings and the thread count.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make-model")
    make.add_argument("dir")
    make.add_argument("--seed", type=int, default=0)
    train = commands.add_parser("train")
    train.add_argument("--model", required=True)
    train.add_argument("--split", required=True)
    train.add_argument("--job", required=True)
    train.add_argument("--bridge", required=True, help="folder holding the tune_bridge package")
    args = parser.parse_args()
    if args.command == "make-model":
        print(json.dumps(make_model(Path(args.dir), args.seed)))
    else:
        job = json.loads(Path(args.job).read_text(encoding="utf-8"))
        print(json.dumps(train_steps(args.model, args.split, job, args.bridge)))


def make_model(directory: Path, seed: int) -> dict:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging

    logging.disable_progress_bar()  # stderr is the benchmark's progress log
    config_file = directory / "config.json"
    # save_pretrained rewrites config.json in transformers 5's own layout (rope_parameters
    # instead of rope_theta); keep the tune-style file the .mjs wrote so the folder looks like
    # the built-in tiny model apart from its sizes.
    original = config_file.read_text(encoding="utf-8")
    config = LlamaConfig.from_pretrained(directory)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(torch.float32)
    model.save_pretrained(directory, safe_serialization=True)
    config_file.write_text(original, encoding="utf-8")
    return {"parameters": sum(p.numel() for p in model.parameters())}


def train_steps(model_dir: str, split_dir: str, job: dict, bridge: str) -> dict:
    import torch

    # Before any work: intra-op threads are fixed once, and the number is part of the result.
    torch.set_num_threads(job["threads"])
    torch.manual_seed(job["seed"])
    import transformers
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    transformers.logging.set_verbosity_error()  # "score.weight newly initialized" is expected
    sys.dont_write_bytecode = True  # no __pycache__ left in the project's python-bridge folder
    sys.path.insert(0, bridge)
    from tune_bridge.dataset import read_split

    split = read_split(split_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=job["num_labels"], dtype=torch.float32)
    # tune's tfjs engine starts the classifier head from its own seeded normal draw; starting
    # from the same values makes the two first-step losses directly comparable (LoRA's B is zero
    # on both sides, so the initial function is then identical).
    if job.get("score_init") is not None:
        with torch.no_grad():
            model.score.weight.copy_(torch.tensor(job["score_init"], dtype=torch.float32).view_as(model.score.weight))
    lora = job["lora"]
    model = get_peft_model(
        model,
        LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"], target_modules=lora["target_modules"], task_type="SEQ_CLS"),
    )
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=job["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=job["weight_decay"])

    pad_id = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    batches = [collate(split, indices, pad_id) for indices in job["batches"]]
    step_seconds: list[float] = []
    losses: list[float] = []
    grad_norms: list[float] = []
    tokens: list[int] = []
    for step, (ids, mask, labels) in enumerate(batches):
        # The schedule is tune's (linear warmup, linear decay), precomputed by the .mjs.
        for group in optimizer.param_groups:
            group["lr"] = job["lrs"][step]
        started = time.perf_counter()
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(trainable, job["max_grad_norm"]) if job["max_grad_norm"] > 0 else torch.tensor(0.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss = out.loss.item()  # a sync point, as tune's engine reads its loss every step
        step_seconds.append(time.perf_counter() - started)
        losses.append(loss)
        grad_norms.append(float(norm))
        tokens.append(int(mask.sum()))
    return {
        "engine": "torch",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "trainable_parameters": sum(p.numel() for p in trainable),
        "step_seconds": step_seconds,
        "losses": losses,
        "grad_norms": grad_norms,
        "tokens": tokens,
        # Linux reports ru_maxrss in KiB: the process's true peak, model loading included.
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def collate(split, indices: list[int], pad_id: int):
    """Right-padded ids, mask and class ids, as tune's padBatch builds them."""
    import torch
    from tune_bridge.dataset import right_padded

    ids, mask = right_padded(split, indices, pad_id)
    labels = torch.tensor([int(split.class_ids[i]) for i in indices], dtype=torch.long)
    return ids, mask, labels


if __name__ == "__main__":
    main()
