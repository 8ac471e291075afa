"""Predictions for the evaluator (DESIGN.md, contract 5), in the rows the tfjs engine writes."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Collection

import torch
from tokenizers import Tokenizer

from .dataset import TokenizedSplit, right_padded


def _until_stop(tokens: list[int], stop: Collection[int]) -> list[int]:
    """The generated tokens before the first stop token (generate pads finished rows after it)."""
    for position, token in enumerate(tokens):
        if token in stop:
            return tokens[:position]
    return tokens


def continuations(model: Any, ids: torch.Tensor, mask: torch.Tensor, generation: dict[str, Any], stop: list[int], pad: int) -> list[list[int]]:
    """Each left-padded row's new tokens up to a stop token, greedy or sampled as `generation` says."""
    sampling = generation["temperature"] > 0
    out = model.generate(
        input_ids=ids,
        attention_mask=mask,
        max_new_tokens=generation["max_new_tokens"],
        do_sample=sampling,
        temperature=generation["temperature"] if sampling else None,
        top_p=generation["top_p"] if sampling else None,
        eos_token_id=stop or None,
        pad_token_id=pad,
    )
    return [_until_stop([int(t) for t in row.tolist()], stop) for row in out[:, ids.shape[1] :]]


def _batches(count: int, size: int) -> list[list[int]]:
    return [list(range(start, min(start + size, count))) for start in range(0, count, size)]


def _write_rows(file: Path, rows: list[dict[str, Any]]) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, file)


@torch.no_grad()
def classify(model: torch.nn.Module, plan: dict[str, Any], split: TokenizedSplit, pad: int, device: torch.device, file: Path) -> dict[str, Any]:
    labels: list[str] = plan["data"]["labels"]
    rows: list[dict[str, Any]] = []
    loss_sum = 0.0
    for indices in _batches(len(split), plan["training"]["eval_batch_size"]):
        ids, mask = (t.to(device) for t in right_padded(split, indices, pad))
        probabilities = torch.softmax(model(input_ids=ids, attention_mask=mask).logits.float(), dim=-1).cpu().tolist()
        for row, i in enumerate(indices):
            probs = probabilities[row]
            gold = int(split.class_ids[i]) if split.class_ids is not None else -1
            loss_sum -= math.log(max(probs[max(gold, 0)], 1e-45))
            rows.append({"id": split.example_ids[i], "gold": labels[gold] if gold >= 0 else None, "pred": labels[probs.index(max(probs))], "probs": dict(zip(labels, probs))})
    _write_rows(file, rows)
    return {"examples": len(split), "loss": loss_sum / max(1, len(split))}


@torch.no_grad()
def generate_answers(model: Any, plan: dict[str, Any], split: TokenizedSplit, tokenizer: Tokenizer, pad: int, eos: list[int], device: torch.device, file: Path) -> dict[str, Any]:
    """Greedy (or sampled) answers after each example's prompt: left-padded batches, KV cache."""
    generation = plan["generation"]
    labels = plan["data"]["labels"]
    rows: list[dict[str, Any]] = []
    loss_sum = 0.0
    token_count = 0
    for indices in _batches(len(split), plan["training"]["eval_batch_size"]):
        prompts, references, losses, counts = [], [], [], []
        for i in indices:
            ids = split.ids(i).astype("int64")
            token_labels = split.token_labels(i)
            trained = [t for t, label in enumerate(token_labels) if label != -100] if token_labels is not None else []
            cut = trained[0] if trained else len(ids)
            prompts.append(ids[:cut])
            references.append([int(t) for t in ids[cut:] if int(t) not in eos])
            if token_labels is None:
                # Prompting data has no reference answer to score, only a gold label.
                losses.append(0.0)
                counts.append(0)
                continue
            full = torch.from_numpy(ids).unsqueeze(0).to(device)
            target = torch.from_numpy(token_labels.astype("int64")).unsqueeze(0).to(device)
            logits = model(input_ids=full).logits.float()
            loss = torch.nn.functional.cross_entropy(logits[0, :-1], target[0, 1:], ignore_index=-100, reduction="sum")
            losses.append(float(loss))
            counts.append(int((target[0, 1:] != -100).sum()))
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for b, prompt in enumerate(prompts):
            ids[b, width - len(prompt) :] = torch.from_numpy(prompt)
            mask[b, width - len(prompt) :] = 1
        new_tokens = continuations(model, ids.to(device), mask.to(device), generation, eos, pad)
        for b, i in enumerate(indices):
            answer = tokenizer.decode(new_tokens[b], skip_special_tokens=False)
            for stop in generation["stop"]:
                if stop in answer:
                    answer = answer[: answer.index(stop)]
            class_id = int(split.class_ids[i]) if split.class_ids is not None else -1
            gold = labels[class_id] if labels and class_id >= 0 else tokenizer.decode(references[b], skip_special_tokens=False).strip()
            loss_sum += losses[b]
            token_count += counts[b]
            rows.append({"id": split.example_ids[i], "gold": gold, "answer": answer.strip(), "loss": losses[b] / max(1, counts[b]), "tokens": counts[b]})
    _write_rows(file, rows)
    return {"examples": len(split), "loss": loss_sum / max(1, token_count)}
