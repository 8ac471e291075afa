"""The GPU proof, second half: one command on the GPU machine, Python only (README.md beside this).

    python3 scripts/gpu-e2e/run.py --work .gpu-e2e --out $OUT [--cpu-dry] [--budget-s 400]

It reads what prepare.mjs wrote. Per scenario it builds the model from the published config with
seeded random weights directly on the device, in the plan's dtype, and then runs the torch
engine's own code as `tune recipe` drives the worker: on_device (the built-in quantizer where the
plan asks), adapt, and train_model on the runner's batches. Then two checks on the device: one
step's summed loss with padding-free rows equals the padded one, and the saved adapter, reloaded
with PeftModel.from_pretrained on the same base, gives the engine's logits. The scenario marked
for it also trains the same model on the same data with transformers' Trainer, seed-style and
tuned (scripts/bench/train_torch_trainer.py). A failing stage is recorded with its traceback
and the rest still runs; past the time budget no new scenario starts. results.json and
table.txt are rewritten in --out after every scenario, so a run stopped at its limit still
returns what it measured.

Model FLOPs per real token are 4 x the body's linear weights (forward, and backward through the
frozen base; the recomputation of gradient checkpointing is not counted, nor the attention
scores or the head), so MFU is a lower bound, against the bf16 matrix-product rate measured here.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, Callable

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python-bridge"))
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

from peft import PeftModel  # noqa: E402
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification, PreTrainedModel  # noqa: E402

from tune_bridge.batching import Batch, StepBatcher  # noqa: E402
from tune_bridge.dataset import read_split  # noqa: E402
from tune_bridge.loss import StepLoss  # noqa: E402
from tune_bridge.modeling import adapt, attention_implementation, model_dtype, on_device, pad_id  # noqa: E402
from tune_bridge.optim import autocast_dtype  # noqa: E402
from tune_bridge.train import train_model  # noqa: E402
from train_torch_trainer import train_rows, trainer_rows  # noqa: E402

FORMAT = "tune-gpu-e2e"
RESULTS_FORMAT = "tune-gpu-e2e-results"
# bf16 keeps 8 bits of mantissa: two kernels that sum in another order differ by about 1e-3.
TOLERANCE = {torch.float32: 1e-4, torch.bfloat16: 1e-2, torch.float16: 1e-2}

Record = dict[str, Any]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True, help="the folder prepare.mjs wrote")
    parser.add_argument("--out", required=True, help="where results.json and table.txt go")
    parser.add_argument("--cpu-dry", action="store_true", help="the tiny configs of prepare.mjs --cpu-dry, on the CPU")
    parser.add_argument("--budget-s", type=float, default=400.0, help="start no new scenario or Trainer comparison after this many seconds")
    args = parser.parse_args()
    started = time.perf_counter()
    work, out = Path(args.work).resolve(), Path(args.out).resolve()
    manifest = json.loads((work / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or "scenarios" not in manifest:
        print(f"{work} holds no complete preparation; run scripts/gpu-e2e/prepare.mjs first", file=sys.stderr)
        return 2
    if manifest["dry"] != args.cpu_dry:
        print(f"{work} was prepared {'with' if manifest['dry'] else 'without'} --cpu-dry; run.py needs the same flag", file=sys.stderr)
        return 2
    if not args.cpu_dry and not torch.cuda.is_available():
        print("no CUDA device here: the GPU proof needs one (--cpu-dry runs the tiny configs on the CPU)", file=sys.stderr)
        return 2
    device = torch.device("cpu" if args.cpu_dry else "cuda")
    out.mkdir(parents=True, exist_ok=True)
    results: Record = {
        "format": RESULTS_FORMAT,
        "format_version": 1,
        "dry": args.cpu_dry,
        "tune_version": manifest["tune_version"],
        "device": describe_device(device),
        "peak": measure_peak(device),
        "context_bytes": context_bytes(device),
        "budget_s": args.budget_s,
        "planned": [entry["name"] for entry in manifest["scenarios"]],
        "scenarios": [],
        "skipped": [],
    }
    runs = Path(tempfile.mkdtemp(prefix="tune-gpu-e2e-"))
    deadline = started + args.budget_s
    try:
        for entry in manifest["scenarios"]:
            elapsed = time.perf_counter() - started
            if elapsed > args.budget_s:
                results["skipped"].append({"name": entry["name"], "why": f"time budget: {elapsed:.0f} s had passed of {args.budget_s:.0f}"})
            else:
                results["scenarios"].append(run_scenario(entry, work, runs, device, results["peak"]["flops_per_s"], results["context_bytes"], deadline))
            free(device)
            results["elapsed_s"] = round(time.perf_counter() - started, 1)
            write_results(out, results)
    finally:
        shutil.rmtree(runs, ignore_errors=True)
    print(table(results))
    return 0


def describe_device(device: torch.device) -> Record:
    import peft
    import transformers

    described: Record = {"type": device.type, "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        described.update(name=properties.name, memory_bytes=properties.total_memory, multiprocessors=properties.multi_processor_count)
    else:
        described.update(name=platform.processor() or platform.machine(), threads=torch.get_num_threads())
    return described


def measure_peak(device: torch.device) -> Record:
    """The bf16 matrix-product rate this device reaches: 3 warm-up products, then the mean of 10."""
    size = 8192 if device.type == "cuda" else 256
    a, b = (torch.randn(size, size, device=device, dtype=torch.bfloat16) for _ in range(2))
    for _ in range(3):
        a @ b
    synchronize(device)
    runs = 10
    begin = time.perf_counter()
    for _ in range(runs):
        a @ b
    synchronize(device)
    seconds = time.perf_counter() - begin
    return {"flops_per_s": runs * 2 * size**3 / seconds, "dtype": "bfloat16", "size": size, "runs": runs}


def context_bytes(device: torch.device) -> int:
    """What the GPU holds beyond PyTorch's allocator (CUDA's context, cuBLAS): the part of the
    estimate's peak that max_memory_reserved never sees."""
    if device.type != "cuda":
        return 0
    torch.cuda.empty_cache()
    free_bytes, total = torch.cuda.mem_get_info(device)
    return int(total - free_bytes - torch.cuda.memory_reserved(device))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def run_scenario(entry: Record, work: Path, runs: Path, device: torch.device, peak_flops: float, context: int, deadline: float) -> Record:
    record: Record = {key: entry[key] for key in ("name", "shape", "architecture", "steps")}
    record.update(status="ok", failures=[])
    print(f"[gpu-e2e] {entry['name']}: {entry['shape']}", file=sys.stderr, flush=True)
    plan = json.loads((work / entry["plan"]).read_text(encoding="utf-8"))
    plan["run_dir"] = str(runs / entry["name"])
    model_dir = str(work / entry["model"])
    plan["model"]["base"] = plan["model"]["source"]["path"] = model_dir
    plan["data"]["manifests"] = {split: str(work / manifest) for split, manifest in plan["data"]["manifests"].items()}
    batches = json.loads((work / entry["batches"]).read_text(encoding="utf-8"))
    classify = plan["task"] == "sequence-classification"
    split = read_split(Path(plan["data"]["manifests"]["train"]).parent)
    autocast = autocast_dtype(plan["training"]["precision"], device)
    tolerance = TOLERANCE[autocast or model_dtype(plan, device)]
    first_step = batches[0][: int(plan["schedule"]["micro_batches_per_step"])]
    memory = Memory(device, context)
    model: Any = None

    def train() -> None:
        nonlocal model
        events = Events(entry["name"])
        begin = time.perf_counter()
        with redirect_stdout(events):
            model = adapt(plan, on_device(plan, build_base(plan, model_dir, device), device), device, None)
        record["build_s"] = round(time.perf_counter() - begin, 1)
        memory.loaded()
        record["training"] = train_engine(plan, model, model_dir, batches, split, device, entry["estimate"]["parameters"]["linear"], peak_flops, events)
        record["memory"] = memory.trained(entry["estimate"]["bytes"]["total"])

    def packing() -> None:
        batcher = StepBatcher(split, classify, pad_id(model))
        record["packing"] = packing_check(plan, model, batcher, first_step, device, autocast, tolerance)

    def reload() -> None:
        batch = StepBatcher(split, classify, pad_id(model)).padded(first_step[0]).to(device)
        record["reload"] = reload_check(model, record["training"]["checkpoint"], batch, classify, device, autocast, tolerance)

    def trainers() -> None:
        nonlocal model
        model = None
        free(device)
        record["trainer"] = trainer_comparison(plan, model_dir, split, record, device, entry["estimate"]["parameters"]["linear"], peak_flops, runs)

    stage(record, "train", train)
    if "training" in record:
        stage(record, "packing", packing)
        stage(record, "reload", reload)
        if entry["trainer_comparison"] and time.perf_counter() > deadline:
            record["trainer_skipped"] = "time budget: it had passed before the Trainer comparison"
        elif entry["trainer_comparison"]:
            stage(record, "trainer", trainers)
    return record


def stage(record: Record, name: str, work: Callable[[], None]) -> None:
    try:
        work()
    except Exception as error:
        record["status"] = "failed"
        record["failures"].append({"stage": name, "error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()})
        print(f"[gpu-e2e] {record['name']}: {name} failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)


def build_base(plan: Record, model_dir: str, device: torch.device) -> PreTrainedModel:
    """The model tune would load from model_dir (modeling._load_base: the recipe's labels and pad
    token for a classifier, the same attention), built from its config.json with seeded random
    weights directly on the device, in the plan's dtype: weights of 8B and 13B models cannot travel."""
    config = AutoConfig.from_pretrained(model_dir)
    auto: Any = AutoModelForCausalLM
    if plan["task"] == "sequence-classification":
        labels = plan["data"]["labels"]
        config.num_labels = len(labels)
        config.id2label = dict(enumerate(labels))
        config.label2id = {label: i for i, label in enumerate(labels)}
        config.pad_token_id = config.pad_token_id if config.pad_token_id is not None else 0
        auto = AutoModelForSequenceClassification
    torch.manual_seed(plan["training"]["seed"])
    with torch.device(device):
        return auto.from_config(config, dtype=model_dtype(plan, device), attn_implementation=attention_implementation())


class Events(io.TextIOBase):
    """train_model's JSON-line events, kept, with one short line a step on stderr for the log;
    anything else printed to stdout meanwhile goes to stderr as it is."""

    def __init__(self, name: str) -> None:
        self.name, self.events, self.pending = name, [], ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in filter(None, lines):
            try:
                event = json.loads(line)
            except ValueError:
                print(line, file=sys.stderr, flush=True)
                continue
            self.events.append(event)
            if event["type"] == "step":
                print(f"[gpu-e2e] {self.name}: step {event['step']} loss {event['loss']:.4f} {event['tokens_per_s']} tokens/s", file=sys.stderr, flush=True)
            elif event["type"] == "warning":
                print(f"[gpu-e2e] {self.name}: warning: {event['message']}", file=sys.stderr, flush=True)
        return len(text)


def train_engine(plan: Record, model: Any, model_dir: str, batches: list, split: Any, device: torch.device, linear: int, peak_flops: float, events: Events) -> Record:
    begin = time.perf_counter()
    with redirect_stdout(events):
        train_model(plan, model, model_dir, batches, None, {"tune_version": plan["tune_version"], "gpu_e2e": plan["name"]}, device)
    wall = time.perf_counter() - begin
    steps = [e for e in events.events if e["type"] == "step"]
    end = next(e for e in events.events if e["type"] == "end")
    start = next(e for e in events.events if e["type"] == "start")
    seconds = wall - end["timing"]["checkpoint_s"]
    lengths = StepBatcher(split, plan["task"] == "sequence-classification", 0).lengths
    # The steps train_model took: each epoch's micro-batches in groups, the last group of an epoch maybe short.
    per_step = int(plan["schedule"]["micro_batches_per_step"])
    taken = [epoch[first : first + per_step] for epoch in batches for first in range(0, len(epoch), per_step)][: int(plan["schedule"]["total_steps"])]
    tokens = int(sum(int(lengths[m].sum()) for step in taken for m in step))
    # The first step pays for cuBLAS's and the allocator's warm-up; the median step is the steady state.
    steady = statistics.median(s["tokens_per_s"] for s in steps[1:]) if len(steps) > 1 else steps[0]["tokens_per_s"]
    return {
        "steps": len(steps),
        "seconds": round(seconds, 2),
        "tokens": tokens,
        "tokens_per_s": round(tokens / seconds),
        "median_step_tokens_per_s": round(steady),
        "mfu": 4 * linear * tokens / seconds / peak_flops,
        "median_step_mfu": 4 * linear * steady / peak_flops,
        "losses": [s["loss"] for s in steps],
        "grad_norms": [s["grad_norm"] for s in steps],
        "timing": end["timing"],
        "speed": start["speed"],
        "warnings": [e["message"] for e in events.events if e["type"] == "warning"],
        "checkpoint": end["checkpoint"],
    }


class Memory:
    """Peak device memory of a scenario as `tune validate` estimates it: CUDA's context plus the
    most PyTorch's allocator held at once (loading included: tune puts the whole bf16 base on the
    device before quantizing), next to the most its tensors used while loading and training."""

    def __init__(self, device: torch.device, context: int) -> None:
        self.cuda, self.context = device.type == "cuda", context
        if self.cuda:
            torch.cuda.reset_peak_memory_stats(device)

    def loaded(self) -> None:
        if self.cuda:
            self.load_reserved, self.load_allocated = torch.cuda.max_memory_reserved(), torch.cuda.max_memory_allocated()
            torch.cuda.reset_peak_memory_stats()

    def trained(self, estimate: int) -> Record:
        if not self.cuda:
            return {"estimate_bytes": estimate, "peak_bytes": None}
        peak = self.context + max(self.load_reserved, torch.cuda.max_memory_reserved())
        return {
            "estimate_bytes": estimate,
            "peak_bytes": peak,
            "estimate_error": (estimate - peak) / peak,
            "load_allocated_bytes": self.load_allocated,
            "train_allocated_bytes": torch.cuda.max_memory_allocated(),
        }


@torch.no_grad()
def packing_check(plan: Record, model: Any, batcher: StepBatcher, micro_batches: list[list[int]], device: torch.device, autocast: torch.dtype | None, tolerance: float) -> Record:
    """The first step's summed loss from padding-free rows and from padded micro-batches (the
    same examples; eval mode, so dropout draws nothing) agree within the precision's tolerance."""
    model.eval()
    loss = StepLoss(model, plan["task"] == "sequence-classification")
    budget = int(plan["training"]["batch_size"]) * int(plan["data"]["max_length"])
    packed_batches = batcher.packed(micro_batches, budget)
    padded_batches = [batcher.padded(m) for m in micro_batches]

    def total(batches: list[Batch]) -> float:
        with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
            return sum(float(loss(b.to(device))) for b in batches)

    packed, padded = total(packed_batches), total(padded_batches)
    difference = abs(packed - padded) / max(abs(padded), 1e-12)
    return {"packed_loss": packed, "padded_loss": padded, "relative_difference": difference, "tolerance": tolerance, "match": difference <= tolerance, "packed_rows": len(packed_batches), "padded_batches": len(padded_batches)}


@torch.no_grad()
def reload_check(model: Any, checkpoint: str, batch: Batch, classify: bool, device: torch.device, autocast: torch.dtype | None, tolerance: float) -> Record:
    """The engine's logits on a padded micro-batch against those of its saved adapter loaded by
    PEFT itself onto the same base (the engine's LoRA taken off first), at the real positions."""

    def logits(peft_model: Any) -> torch.Tensor:
        peft_model.eval()
        with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
            out = peft_model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits.float()
        return out if classify else out[batch.attention_mask.bool()]

    engine = logits(model)
    reloaded = PeftModel.from_pretrained(model.unload(), checkpoint)
    again = logits(reloaded)
    scale = float(engine.abs().max())
    difference = float((engine - again).abs().max())
    return {"max_abs_difference": difference, "max_abs_logit": scale, "tolerance": tolerance * max(1.0, scale), "match": difference <= tolerance * max(1.0, scale), "adapter": str(Path(checkpoint).name)}


def trainer_comparison(plan: Record, model_dir: str, split: Any, record: Record, device: torch.device, linear: int, peak_flops: float, runs: Path) -> Record:
    """The same model (seed, dtype, LoRA) and data through transformers' Trainer, seed-style and
    tuned, for one epoch each, against the engine's run above. Peak memory is the most the
    allocator's tensors used while training, from the same point (the adapted model on the device)."""
    training = record["training"]
    ways = [{"way": "tune torch engine", "seconds": training["seconds"], "tokens_per_s": training["tokens_per_s"], "peak_allocated_bytes": record["memory"].get("train_allocated_bytes"), "loss": statistics.fmean(training["losses"])}]
    tokens = training["tokens"]
    job = {
        "batch_size": plan["training"]["batch_size"],
        "accumulation": plan["training"]["gradient_accumulation"],
        "lr": plan["training"]["lr"],
        "weight_decay": plan["training"]["weight_decay"],
        "max_grad_norm": plan["training"]["max_grad_norm"],
        "warmup_steps": plan["schedule"]["warmup_steps"],
        "seed": plan["training"]["seed"],
        "output_dir": str(runs / "trainer"),
    }
    for style, name in (("seed", "seed-style Trainer (pad to max_length)"), ("tuned", "tuned Trainer (dynamic padding, group_by_length)")):
        model = adapt(plan, build_base(plan, model_dir, device), device, None)
        rows = trainer_rows(split, style, int(plan["data"]["max_length"]), pad_id(model))
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        result = train_rows(model, rows, style, job, str(Path(model_dir) / "tokenizer.json"), pad_id(model), use_cpu=device.type == "cpu", bf16=model_dtype(plan, device) == torch.bfloat16)
        peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else None
        # train_rows keeps the Trainer from summing its micro-batches' mean losses (see there), so
        # its loss is the engine's kind of mean.
        ways.append({"way": name, "seconds": round(result["seconds"], 2), "tokens_per_s": round(tokens / result["seconds"]), "peak_allocated_bytes": peak, "loss": result["loss"], "grad_norm": result["grad_norm"], "timing": result["timing"]})
        del model
        free(device)
    for way in ways:
        way["mfu"] = 4 * linear * way["tokens_per_s"] / peak_flops
    return {"tokens": tokens, "ways": ways}


def write_results(out: Path, results: Record) -> None:
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "table.txt").write_text(table(results) + "\n", encoding="utf-8")


def table(results: Record) -> str:
    device, peak = results["device"], results["peak"]
    lines = [
        f"tune GPU proof{' (CPU dry run: tiny configs, numbers say nothing about speed)' if results['dry'] else ''}: {device['name']}, torch {device['torch']}, transformers {device['transformers']}, peft {device['peft']}",
        f"bf16 matrix-product peak {peak['flops_per_s'] / 1e12:.3g} TFLOP/s ({peak['size']}^3); {results.get('elapsed_s', 0):.0f} s of a {results['budget_s']:.0f} s budget",
        "",
        row(["scenario", "steps", "tokens/s", "step tok/s", "MFU", "step MFU", "peak GB", "estimate GB", "est. error", "loss: first steps -> last", "packed=padded", "reload=engine"]),
    ]
    for s in results["scenarios"]:
        t, m = s.get("training"), s.get("memory", {})
        if t is None:
            lines.append(row([s["name"], "failed"]))
            continue
        curve = " ".join(f"{loss:.3f}" for loss in t["losses"][:4]) + f" -> {t['losses'][-1]:.3f}"
        packing, reload = s.get("packing"), s.get("reload")
        lines.append(
            row(
                [
                    s["name"],
                    f"{t['steps']}/{s['steps']}",
                    f"{t['tokens_per_s']:,}",
                    f"{t['median_step_tokens_per_s']:,}",
                    f"{100 * t['mfu']:.1f}%",
                    f"{100 * t['median_step_mfu']:.1f}%",
                    gigabytes(m.get("peak_bytes")),
                    gigabytes(m.get("estimate_bytes")),
                    f"{100 * m['estimate_error']:+.0f}%" if m.get("estimate_error") is not None else "-",
                    curve,
                    "-" if packing is None else f"{'yes' if packing['match'] else 'NO'} ({packing['relative_difference']:.1e})",
                    "-" if reload is None else f"{'yes' if reload['match'] else 'NO'} ({reload['max_abs_difference']:.1e})",
                ]
            )
        )
        if "trainer" in s:
            lines += ["", f"{s['name']}: the same model, LoRA and data through transformers' Trainer ({s['trainer']['tokens']:,} real tokens, one epoch)"]
            lines.append(row(["way", "seconds", "real tokens/s", "vs seed", "vs tuned", "peak alloc GB", "MFU", "mean loss"], TRAINER_COLUMNS))
            ways = s["trainer"]["ways"]
            seed_speed, tuned_speed = (next(w["tokens_per_s"] for w in ways if w["way"].startswith(prefix)) for prefix in ("seed", "tuned"))
            for w in ways:
                lines.append(row([w["way"], f"{w['seconds']:.2f}", f"{w['tokens_per_s']:,}", f"{w['tokens_per_s'] / seed_speed:.2f}x", f"{w['tokens_per_s'] / tuned_speed:.2f}x", gigabytes(w["peak_allocated_bytes"]), f"{100 * w['mfu']:.1f}%", f"{w['loss']:.4f}"], TRAINER_COLUMNS))
            lines.append("")
    for s in results["scenarios"]:
        for failure in s["failures"]:
            lines.append(f"FAILED {s['name']} ({failure['stage']}): {failure['error']} (traceback in results.json)")
    for s in results["scenarios"]:
        if "trainer_skipped" in s:
            lines.append(f"SKIPPED {s['name']} Trainer comparison: {s['trainer_skipped']}")
    for skipped in results["skipped"]:
        lines.append(f"SKIPPED {skipped['name']}: {skipped['why']}")
    return "\n".join(lines)


SCENARIO_COLUMNS = [18, 6, 10, 10, 6, 8, 8, 11, 10, 36, 15, 15]
TRAINER_COLUMNS = [50, 8, 14, 8, 9, 14, 6, 9]


def row(cells: list[str], widths: list[int] = SCENARIO_COLUMNS) -> str:
    return " ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()


def gigabytes(value: int | None) -> str:
    return "-" if value is None else f"{value / 1e9:.2f}"


if __name__ == "__main__":
    sys.exit(main())
