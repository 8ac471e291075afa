"""Benchmark: the torch engine's lean SFT loss against full-vocabulary fp32 logits.

  python-bridge/.venv/bin/python scripts/bench/lean_loss.py [--vocab 128256] [--rows 4] [--length 512]

One micro-batch of a Llama with Llama-3's 128,256-token vocabulary (a small body, so the head is
what weighs), 4 rows of 512 tokens with the first half of each masked as a prompt, LoRA on every
linear layer. Two ways, each in a process of its own so its peak RSS is its own:
  - "full logits": what the engine did before, and what a hand-written loop does: the model's
    logits over every position and the whole vocabulary in fp32, then cross-entropy;
  - "lean": the engine's StepLoss, the head only at trained positions, in chunks recomputed in
    backward (python-bridge/tune_bridge/loss.py).
Both must give the same summed loss and LoRA gradients. Prints a table (peak RSS, the peak above
the loaded model, seconds for forward and backward), then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def rss_mib() -> float:
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(way: str, vocab: int, rows: int, length: int) -> dict:
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    sys.path.insert(0, str(ROOT / "python-bridge"))
    from tune_bridge.batching import StepBatcher
    from tune_bridge.dataset import TokenizedSplit
    from tune_bridge.loss import StepLoss

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=vocab, hidden_size=256, intermediate_size=704, num_hidden_layers=2, num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=length)
    model = get_peft_model(LlamaForCausalLM(config), LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules="all-linear", init_lora_weights=False))
    generator = np.random.default_rng(1)
    ids = generator.integers(3, vocab, size=(rows, length))
    labels = ids.copy()
    labels[:, : length // 2] = -100
    split = TokenizedSplit({"count": rows}, [str(i) for i in range(rows)], ids.reshape(-1).astype(np.uint32), (np.arange(rows + 1) * length).astype(np.uint64), labels.reshape(-1).astype(np.int32), None)
    batch = StepBatcher(split, classify=False, pad=0).padded(list(range(rows)))
    loaded = rss_mib()
    started = time.perf_counter()
    if way == "full":
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits.float()
        target = torch.from_numpy(labels)
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, vocab), target[:, 1:].reshape(-1), ignore_index=-100, reduction="sum")
    else:
        loss = StepLoss(model, classify=False)(batch)
    loss.backward()
    seconds = time.perf_counter() - started
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    return {
        "way": way,
        "loss": float(loss.detach()),
        "grad_norm": float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads))),
        "grad_checksum": [float(g.double().sum()) for g in grads],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loaded_rss_mib": loaded,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab", type=int, default=128_256)
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--way", choices=["full", "lean"])
    args = parser.parse_args()
    if args.way:
        print(json.dumps(measure(args.way, args.vocab, args.rows, args.length)))
        return
    results = {}
    for way in ("full", "lean"):
        command = [sys.executable, __file__, "--way", way, "--vocab", str(args.vocab), "--rows", str(args.rows), "--length", str(args.length)]
        results[way] = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    full, lean = results["full"], results["lean"]
    if not lean["grad_norm"] > 0:
        raise SystemExit("no gradient: the benchmark proves nothing")
    if abs(lean["loss"] - full["loss"]) > 1e-5 * abs(full["loss"]):
        raise SystemExit(f"the losses differ: full {full['loss']}, lean {lean['loss']}")
    for a, b in zip(full["grad_checksum"], lean["grad_checksum"]):
        if abs(a - b) > 1e-4 * max(1.0, abs(a)):
            raise SystemExit(f"the gradients differ: {a} vs {b}")
    fp32_logits = args.rows * args.length * args.vocab * 4 / 2**20
    print(f"Llama body 2 x 256, vocabulary {args.vocab:,}, {args.rows} x {args.length} tokens (half trained); full fp32 logits would be {fp32_logits:,.0f} MiB")
    print(f"{'way':12} | {'peak RSS MiB':>12} | {'above loaded model':>18} | {'forward+backward s':>18} | {'loss':>12}")
    print(f"{'-' * 12}-|-{'-' * 12}-|-{'-' * 18}-|-{'-' * 18}-|-{'-' * 12}")
    for r in (full, lean):
        print(f"{r['way']:12} | {r['peak_rss_mib']:12.0f} | {r['peak_rss_mib'] - r['loaded_rss_mib']:18.0f} | {r['seconds']:18.2f} | {r['loss']:12.2f}")
    above = {way: r["peak_rss_mib"] - r["loaded_rss_mib"] for way, r in results.items()}
    print(json.dumps({"bench": "lean-loss", "ours": round(above["lean"]), "reference": round(above["full"]), "ratio": round(above["lean"] / above["full"], 3), "unit": "MiB peak RSS above the loaded model", "goal": "no full-vocabulary fp32 logits: well under the full way's peak", "details": {"peak_rss_mib": {w: round(r["peak_rss_mib"]) for w, r in results.items()}, "seconds": {w: round(r["seconds"], 3) for w, r in results.items()}}}))


if __name__ == "__main__":
    main()
