import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { writeSafetensors } from "../../src/adapter/index.js";
import { tinyBertDir } from "../../src/builtin/index.js";
import { loadTokenizer } from "../../src/data/index.js";
import { loadModel, selectBackend } from "../../src/engine/tfjs/index.js";
import { tempDir } from "../support/temp-dir.js";
import { referencePython } from "../support/reference-python.js";

const TEXTS = ["The march was peaceful and well organised.", "I can't support this — it's a waste of time!", "ok"];

/** transformers' classifier logits for a model folder, with the head tensors from `headFile`. */
async function reference(dir: string, headFile: string, ids: number[][], mask: number[][]): Promise<number[][]> {
  const script = `
import json, sys, torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification
d, head_file, ids, mask = sys.argv[1], sys.argv[2], torch.tensor(json.loads(sys.argv[3])), torch.tensor(json.loads(sys.argv[4]))
model = AutoModelForSequenceClassification.from_pretrained(d, num_labels=3, torch_dtype=torch.float32).eval()
missing = model.load_state_dict(load_file(head_file), strict=False)
assert not missing.unexpected_keys, missing.unexpected_keys
with torch.no_grad():
    print(json.dumps(model(input_ids=ids, attention_mask=mask).logits.tolist()))
`;
  const result = await execa(
    referencePython,
    ["-c", script, dir, headFile, JSON.stringify(ids), JSON.stringify(mask)],
    {
      env: { TRANSFORMERS_VERBOSITY: "error" },
    },
  );
  return JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as number[][];
}

/** A random RoBERTa masked-LM saved by transformers itself: `roberta.` prefixes and an LM head to skip. */
async function robertaFolder(): Promise<string> {
  const dir = tempDir();
  const script = `
import sys, torch
from transformers import RobertaConfig, RobertaForMaskedLM
torch.manual_seed(7)
config = RobertaConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, max_position_embeddings=130, type_vocab_size=1, pad_token_id=1)
model = RobertaForMaskedLM(config)
with torch.no_grad():
    for name, p in model.named_parameters():
        if "LayerNorm" in name or name.endswith("bias"):
            p.add_(torch.randn_like(p) * 0.05)
model.save_pretrained(sys.argv[1])
`;
  await execa(referencePython, ["-c", script, dir], { env: { TRANSFORMERS_VERBOSITY: "error" } });
  return dir;
}

function batchOf(dir: string, pad: number): { ids: number[][]; mask: number[][] } {
  const tokenizer = loadTokenizer(tinyBertDir(join(dir, "..", "..")));
  const rows = TEXTS.map((text) => tokenizer.encode(text, true));
  const width = Math.max(...rows.map((r) => r.length));
  return {
    ids: rows.map((r) => [...r, ...new Array<number>(width - r.length).fill(pad)]),
    mask: rows.map((r) => [...r.map(() => 1), ...new Array<number>(width - r.length).fill(0)]),
  };
}

async function compare(dir: string, pad: number): Promise<void> {
  const { ids, mask } = batchOf(tinyBertDir(tempDir()), pad);
  await selectBackend("cpu");
  const shapes = loadModel(dir);
  const values = shapes.headTensors(3).map(({ name, shape }, i) => ({
    name,
    dtype: "F32" as const,
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, j) => Math.sin(j + i) / 5),
  }));
  shapes.dispose();
  const headFile = join(tempDir(), "head.safetensors");
  writeSafetensors(headFile, values);
  const expected = await reference(dir, headFile, ids, mask);
  for (const backend of ["cpu", "wasm"] as const) {
    expect(await selectBackend(backend)).toBe(backend);
    const model = loadModel(dir);
    const head = new Map(values.map(({ name, shape, data }) => [name, tf.tensor(data, shape)]));
    const before = tf.memory().numTensors;
    const logits = tf.tidy(
      () =>
        model
          .classLogits(model.hidden(model.embed(tf.tensor2d(ids, undefined, "int32")), tf.tensor2d(mask)), ids, head)
          .arraySync() as number[][],
    );
    expect(tf.memory().numTensors).toBe(before);
    logits.forEach((row, b) =>
      row.forEach((value, c) => expect(Math.abs(value - (expected[b]?.[c] ?? NaN))).toBeLessThan(2e-5)),
    );
    tf.dispose([...head.values()]);
    model.dispose();
  }
}

describe("tfjs BERT-family forward pass", () => {
  it("builtin:tiny-bert tokenizes exactly as transformers' BertTokenizer does from its vocab.txt", async () => {
    const dir = tinyBertDir(tempDir());
    const texts = [
      ...TEXTS,
      "Café naïve résumé — über-cool 😀 東京",
      "  spaces\tand\nnewlines ",
      "antidisestablishmentarianism",
    ];
    const script = `
import json, sys
from transformers import BertTokenizer
t = BertTokenizer(sys.argv[1] + "/vocab.txt", do_lower_case=True)
print(json.dumps([t(x)["input_ids"] for x in json.loads(sys.argv[2])]))
`;
    const result = await execa(referencePython, ["-c", script, dir, JSON.stringify(texts)], {
      env: { TRANSFORMERS_VERBOSITY: "error" },
    });
    const tokenizer = loadTokenizer(dir);
    expect(texts.map((text) => tokenizer.encode(text, true))).toEqual(
      JSON.parse(result.stdout.trim().split("\n").at(-1) as string),
    );
    // Real bert-base-uncased ids, not an invented vocabulary.
    expect(tokenizer.encode("hello world", true)).toEqual([101, 7592, 2088, 102]);
  }, 60_000);

  it("matches BertForSequenceClassification (pooler + classifier) on builtin:tiny-bert, on cpu and wasm", async () => {
    await compare(tinyBertDir(tempDir()), 0);
  }, 120_000);

  it("matches RobertaForSequenceClassification on a checkpoint transformers saved (prefixed names, LM head skipped)", async () => {
    await compare(await robertaFolder(), 1);
  }, 120_000);
});
