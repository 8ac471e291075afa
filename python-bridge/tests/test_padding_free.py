"""Padding-free batches and the lean loss compute what transformers computes on padded batches.

On stories260K (a real pretrained Llama) with PEFT LoRA: a step's examples as packed rows (with
attention.py's example-by-example attention, and with transformers' block-diagonal mask) and as
padded micro-batches give the loss and LoRA gradients of transformers' own forward on padded rows
(its sequence-classification pooling, its full-vocabulary logits), for classification, SFT and
multi-turn chat labels; the chunked head (recomputed in backward) gives the same as one chunk.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, BertConfig, BertForSequenceClassification

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python-bridge"))

from tune_bridge import attention, loss as loss_module  # noqa: E402
from tune_bridge.batching import StepBatcher  # noqa: E402
from tune_bridge.dataset import TokenizedSplit  # noqa: E402
from tune_bridge.loss import StepLoss, is_decoder_only  # noqa: E402

STORIES = ROOT / "test" / "models" / "stories260K"
PAD = 0


def _split(rows: list[list[int]], labels: list[list[int]] | None, class_ids: list[int] | None) -> TokenizedSplit:
    offsets = np.cumsum([0, *[len(r) for r in rows]]).astype(np.uint64)
    return TokenizedSplit(
        manifest={"count": len(rows)},
        example_ids=[str(i) for i in range(len(rows))],
        input_ids=np.asarray([t for r in rows for t in r], dtype=np.uint32),
        offsets=offsets,
        labels=None if labels is None else np.asarray([t for r in labels for t in r], dtype=np.int32),
        class_ids=None if class_ids is None else np.asarray(class_ids, dtype=np.int32),
    )


def _texts(count: int, seed: int) -> list[list[int]]:
    """Token rows of different lengths that never contain the pad id (1 is BOS, 2 is EOS)."""
    generator = np.random.default_rng(seed)
    return [[1, *generator.integers(3, 512, size=int(generator.integers(3, 30))).tolist()] for _ in range(count)]


def _lora(model: torch.nn.Module, task: str) -> torch.nn.Module:
    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules="all-linear", task_type=task, init_lora_weights=False)
    return get_peft_model(model, config)


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return grads


def _ours(model: torch.nn.Module, batcher: StepBatcher, micro_batches: list[list[int]], packed: bool, batch_size: int, attn: str = attention.NAME) -> tuple[float, dict[str, torch.Tensor]]:
    model.set_attn_implementation(attn)
    step_loss = StepLoss(model, batcher.classify)
    batches = batcher.packed(micro_batches, batch_size) if packed else [batcher.padded(m) for m in micro_batches]
    if packed:
        assert all(b.input_ids.shape[0] == 1 and b.attention_mask is None for b in batches)
        assert len(batches) > 1, "the step should need several packed rows"
        assert all(b.input_ids.shape[1] <= batch_size * int(batcher.lengths.max()) for b in batches)
    total = 0.0
    for batch in batches:
        loss = step_loss(batch)
        loss.backward()
        total += float(loss.detach())
    return total, _grads(model)


def _transformers_padded(model: torch.nn.Module, split: TokenizedSplit, micro_batches: list[list[int]]) -> tuple[float, dict[str, torch.Tensor]]:
    """The reference: transformers' forward on right-padded rows, its own sdpa attention, pooling
    and full logits."""
    model.set_attn_implementation("sdpa")
    total = 0.0
    for indices in micro_batches:
        rows = [split.ids(i).astype(np.int64) for i in indices]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), PAD, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        for b, (i, row) in enumerate(zip(indices, rows)):
            ids[b, : len(row)] = torch.from_numpy(row)
            mask[b, : len(row)] = 1
            token_labels = split.token_labels(i)
            if token_labels is not None:
                labels[b, : len(row)] = torch.from_numpy(token_labels.astype(np.int64))
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
        if split.class_ids is not None:
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor([int(split.class_ids[i]) for i in indices]), reduction="sum")
        else:
            loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100, reduction="sum")
        loss.backward()
        total += float(loss.detach())
    return total, _grads(model)


def _assert_same(reference: tuple[float, dict[str, torch.Tensor]], other: tuple[float, dict[str, torch.Tensor]]) -> None:
    assert other[0] == pytest.approx(reference[0], rel=1e-5)
    assert reference[1].keys() == other[1].keys() and len(reference[1]) > 0
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in reference[1].values()))
    assert float(norm) > 1e-3, "a step whose gradient vanishes proves nothing"
    for name, grad in reference[1].items():
        torch.testing.assert_close(other[1][name], grad, rtol=1e-4, atol=1e-4 * float(grad.abs().max()), msg=lambda detail: f"{name}: {detail}")


MICRO_BATCHES = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]


def test_classification_pools_as_transformers_does() -> None:
    rows = _texts(11, seed=1)
    # A text that ends in the pad token's id: transformers pools the token before it.
    rows[5] = [*rows[5], PAD, PAD]
    split = _split(rows, None, [i % 3 for i in range(11)])
    model = _lora(AutoModelForSequenceClassification.from_pretrained(STORIES, num_labels=3, pad_token_id=PAD, dtype=torch.float32), "SEQ_CLS")
    # A head trained away from its zero-ish start, so its gradient is not the only one that moves.
    torch.nn.init.normal_(model.base_model.model.score.modules_to_save["default"].weight, std=0.5)
    batcher = StepBatcher(split, classify=True, pad=PAD)
    assert batcher.step_units(MICRO_BATCHES) == 11
    reference = _transformers_padded(model, split, MICRO_BATCHES)
    _assert_same(reference, _ours(model, batcher, MICRO_BATCHES, packed=False, batch_size=4))
    _assert_same(reference, _ours(model, batcher, MICRO_BATCHES, packed=True, batch_size=4))
    # transformers' own packed-sequence masking (a block-diagonal mask over the row) agrees too.
    _assert_same(reference, _ours(model, batcher, MICRO_BATCHES, packed=True, batch_size=4, attn="sdpa"))


def _sft_labels(rows: list[list[int]], seed: int) -> list[list[int]]:
    """A prompt masked out, then an answer trained (the shape of tune's completion labels)."""
    generator = np.random.default_rng(seed)
    labels = []
    for row in rows:
        cut = int(generator.integers(1, len(row)))
        labels.append([-100] * cut + row[cut:])
    return labels


def _chat_labels(rows: list[list[int]]) -> list[list[int]]:
    """Several trained spans per example (assistant turns), with masked turns between them."""
    return [[t if (position // 4) % 2 == 1 else -100 for position, t in enumerate(row)] for row in rows]


@pytest.mark.parametrize("make_labels", [lambda rows: _sft_labels(rows, 2), _chat_labels], ids=["sft", "chat"])
def test_causal_lm_reads_only_trained_positions(make_labels) -> None:  # type: ignore[no-untyped-def]
    rows = _texts(11, seed=3)
    labels = make_labels(rows)
    split = _split(rows, labels, None)
    model = _lora(AutoModelForCausalLM.from_pretrained(STORIES, dtype=torch.float32), "CAUSAL_LM")
    batcher = StepBatcher(split, classify=False, pad=PAD)
    assert batcher.step_units(MICRO_BATCHES) == sum(sum(1 for t in row[1:] if t != -100) for row in labels)
    reference = _transformers_padded(model, split, MICRO_BATCHES)
    _assert_same(reference, _ours(model, batcher, MICRO_BATCHES, packed=False, batch_size=4))
    _assert_same(reference, _ours(model, batcher, MICRO_BATCHES, packed=True, batch_size=4))
    # transformers' own packed-sequence masking (a block-diagonal mask over the row) agrees too.
    _assert_same(reference, _ours(model, batcher, MICRO_BATCHES, packed=True, batch_size=4, attn="sdpa"))


def test_the_chunked_head_equals_one_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _texts(11, seed=4)
    split = _split(rows, _sft_labels(rows, 5), None)
    model = _lora(AutoModelForCausalLM.from_pretrained(STORIES, dtype=torch.float32), "CAUSAL_LM")
    batcher = StepBatcher(split, classify=False, pad=PAD)
    whole = _ours(model, batcher, MICRO_BATCHES, packed=True, batch_size=4)
    # Seven rows of 512-token fp32 logits per chunk: every batch is split into several chunks.
    monkeypatch.setattr(loss_module, "CHUNK_BYTES", 7 * 4 * 512)
    _assert_same(whole, _ours(model, batcher, MICRO_BATCHES, packed=True, batch_size=4))


def test_a_row_holds_no_more_than_the_largest_padded_micro_batch() -> None:
    rows = [[1, 5, 6], [1, 5], [1, 5, 6, 7, 8, 9], [1, 5, 6]]
    batcher = StepBatcher(_split(rows, None, [0, 1, 0, 1]), classify=True, pad=PAD)
    # Padded, a micro-batch of one holds six tokens at most (the longest example): so does a row.
    batches = batcher.packed([[0], [1]], batch_size=1)
    assert [b.input_ids.tolist() for b in batches] == [[[1, 5, 6, 1, 5]]]
    batches = batcher.packed([[0], [1], [2], [3]], batch_size=1)
    assert [b.input_ids.tolist() for b in batches] == [[[1, 5, 6, 1, 5]], [[1, 5, 6, 7, 8, 9]], [[1, 5, 6]]]
    assert [b.position_ids.tolist() for b in batches if b.position_ids is not None] == [[[0, 1, 2, 0, 1]], [[0, 1, 2, 3, 4, 5]], [[0, 1, 2]]]
    assert [b.starts.tolist() for b in batches if b.starts is not None] == [[0, 3, 5], [0, 6], [0, 3]]
    assert [b.cols.tolist() for b in batches] == [[2, 4], [5], [2]]


def test_encoders_are_never_packed() -> None:
    bert = BertForSequenceClassification(BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, num_labels=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
    assert not is_decoder_only(bert.config)
    assert is_decoder_only(AutoModelForCausalLM.from_pretrained(STORIES).config)
    rows = [[1, *range(3, 3 + n)] for n in (4, 7, 2)]
    split = _split(rows, None, [0, 1, 1])
    model = _lora(bert, "SEQ_CLS")
    batcher = StepBatcher(split, classify=True, pad=PAD)
    assert not StepLoss(model, classify=True).reads_positions
    _assert_same(_transformers_padded(model, split, [[0, 1], [2]]), _ours(model, batcher, [[0, 1], [2]], packed=False, batch_size=4))


def test_the_memory_estimate_knows_the_chunk_size() -> None:
    estimate = (ROOT / "src/engine/torch/estimate-memory.ts").read_text(encoding="utf-8")
    assert loss_module.CHUNK_BYTES == 128 * 2**20
    assert "export const LOSS_CHUNK_BYTES = 128 * 2 ** 20;" in estimate
