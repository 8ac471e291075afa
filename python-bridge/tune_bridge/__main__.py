"""python -m tune_bridge doctor | train | predict | chat: the torch engine's worker.

It reads plan.json and the tokenized datasets; it never parses recipes or tokenizes. Events go
to stdout as JSON lines (the first one states the protocol version), logs to stderr. A failure
is reported as an `error` event with the traceback's tail before the process exits 1; input it
refuses (protocol.Refused) as an `error` event with a code and a hint, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from .lifeline import die_with_parent
from .protocol import NodeLost, Refused, emit, hello, read_plan


_REQUIRED = ["torch", "transformers", "peft", "safetensors", "numpy", "tokenizers"]


def _doctor(installed_only: bool) -> None:
    """Versions of the engine's packages (each imported, so a broken install shows, or with
    installed_only as their installed metadata says, in a quarter of the time: what choosing an
    engine before every run needs), Python's version and the CUDA devices."""
    import importlib
    import importlib.metadata

    packages: dict[str, str | None] = {}
    for name in [*_REQUIRED, "accelerate", "bitsandbytes", "flash_attn", "liger_kernel"]:
        # One broken install must not hide the others.
        try:
            if installed_only:
                packages[name] = importlib.metadata.version(name.replace("_", "-"))
            else:
                packages[name] = getattr(importlib.import_module(name), "__version__", "unknown")
        except Exception:
            packages[name] = None
    cuda = None
    if packages["torch"]:
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        cuda = {
            "available": count > 0,
            "devices": [{"name": torch.cuda.get_device_name(i), "memory_gb": round(torch.cuda.get_device_properties(i).total_memory / 2**30, 1), "bf16": torch.cuda.is_bf16_supported()} for i in range(count)],
        }
    missing = [name for name in _REQUIRED if packages[name] is None]
    emit("doctor", python=sys.version.split()[0], packages=packages, cuda=cuda, missing=missing, capabilities={"bitsandbytes": packages["bitsandbytes"] is not None, "train": not missing})


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tune_bridge")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor").add_argument("--installed-only", action="store_true", help="versions from installed metadata, importing torch alone")
    train = commands.add_parser("train")
    train.add_argument("--plan", required=True)
    train.add_argument("--model-dir", required=True)
    train.add_argument("--batches", required=True, help="JSON file: each epoch's micro-batches of train-split indices")
    train.add_argument("--resume")
    train.add_argument("--init", help="adapter folder with the starting LoRA and head weights")
    train.add_argument("--provenance", default="{}", help="JSON recorded in every checkpoint's manifest")
    predict = commands.add_parser("predict")
    predict.add_argument("--plan", required=True)
    predict.add_argument("--model-dir", required=True)
    predict.add_argument("--checkpoint", required=True)
    predict.add_argument("--split", action="append", required=True, help="NAME=DIR: a tokenized split to predict")
    predict.add_argument("--out-dir", required=True)
    chat = commands.add_parser("chat", help="generate replies to token ids read from stdin, one JSON request per line")
    chat.add_argument("--plan", required=True)
    chat.add_argument("--model-dir", required=True)
    chat.add_argument("--checkpoint", required=True)
    args = parser.parse_args()
    die_with_parent()
    hello(args.command)
    try:
        if args.command == "doctor":
            _doctor(args.installed_only)
        elif args.command == "train":
            from .train import train as run_training

            batches = json.loads(Path(args.batches).read_text(encoding="utf-8"))
            run_training(read_plan(args.plan), args.model_dir, batches, args.resume, args.init, json.loads(args.provenance))
        elif args.command == "chat":
            from .chat import chat as run_chat

            run_chat(read_plan(args.plan), args.model_dir, args.checkpoint)
        else:
            _predict(args)
    except Refused as refused:
        emit("error", code=refused.code, message=str(refused), hint=refused.hint)
        return 2
    except NodeLost as lost:
        emit("error", code="node-lost", message=str(lost), hint=lost.hint)
        return 1
    except Exception as error:
        emit("error", message=f"{type(error).__name__}: {error}", traceback="".join(traceback.format_exc().splitlines(keepends=True)[-20:]))
        return 1
    return 0


def _predict(args: argparse.Namespace) -> None:
    from .dataset import read_split
    from .modeling import load_trained, pad_id, pick_device
    from .train import predict_split

    plan = read_plan(args.plan)
    device = pick_device()
    model = load_trained(plan, args.model_dir, args.checkpoint, device)
    pad = pad_id(model)
    out = Path(args.out_dir)
    step = int(Path(args.checkpoint).name.split("-")[-1]) if Path(args.checkpoint).name.startswith("checkpoint-") else 0
    for named in args.split:
        split_name, directory = named.split("=", 1)
        file = out / "predictions" / f"{split_name}.jsonl"
        summary = predict_split(model, plan, args.model_dir, read_split(directory), pad, device, file)
        emit("predictions", step=step, checkpoint=args.checkpoint, split=split_name, file=str(file), **summary)


if __name__ == "__main__":
    sys.exit(main())
