import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { writeSafetensors } from "../../src/adapter/index.js";
import { TINY_LLAMA_CONFIG, tinyLlamaDir } from "../../src/builtin/index.js";
import { generate, lastNonPad, loadModel, selectBackend } from "../../src/engine/tfjs/index.js";
import { tempDir } from "../support/temp-dir.js";
import { referencePython } from "../support/reference-python.js";

const IDS = [
  [1, 15043, 3186, 29892, 920, 526, 366],
  [1, 306, 763, 372, 0, 0, 0],
];
const MASK = IDS.map((row) => row.map((id, i) => (id === 0 && i > 0 ? 0 : 1)));
const SCORE = Float32Array.from({ length: 3 * 64 }, (_, i) => Math.sin(i) / 10);

/** transformers' own logits for the same model folder, ids and classifier head. */
async function reference(dir: string, scoreFile: string): Promise<{ lm: number[][][]; cls: number[][] }> {
  const script = `
import json, sys, torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
d, score_file, ids, mask = sys.argv[1], sys.argv[2], torch.tensor(json.loads(sys.argv[3])), torch.tensor(json.loads(sys.argv[4]))
with torch.no_grad():
    lm = AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32)(input_ids=ids, attention_mask=mask).logits[:, :, :256]
    cls_model = AutoModelForSequenceClassification.from_pretrained(d, num_labels=3, torch_dtype=torch.float32)
    cls_model.score.weight.copy_(load_file(score_file)["score.weight"])
    cls = cls_model(input_ids=ids, attention_mask=mask).logits
print(json.dumps({"lm": lm.tolist(), "cls": cls.tolist()}))
`;
  const result = await execa(
    referencePython,
    ["-c", script, dir, scoreFile, JSON.stringify(IDS), JSON.stringify(MASK)],
    {
      env: { TRANSFORMERS_VERBOSITY: "error" },
    },
  );
  return JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as { lm: number[][][]; cls: number[][] };
}

describe("tfjs Llama forward pass", () => {
  it("finds the last non-pad token as transformers does", () => {
    expect(lastNonPad([1, 5, 6, 0, 0], 0)).toBe(2);
    expect(lastNonPad([0, 0, 0], 0)).toBe(0);
    expect(lastNonPad([1, 5, 6], 0)).toBe(2);
  });

  it("matches transformers' causal-LM and classifier logits on the built-in tiny Llama, on cpu and wasm", async () => {
    const dir = tinyLlamaDir(tempDir());
    const scoreFile = join(tempDir(), "score.safetensors");
    writeSafetensors(scoreFile, [{ name: "score.weight", dtype: "F32", shape: [3, 64], data: SCORE }]);
    const expected = await reference(dir, scoreFile);
    for (const backend of ["cpu", "wasm"] as const) {
      expect(await selectBackend(backend)).toBe(backend);
      const model = loadModel(dir);
      const before = tf.memory().numTensors;
      const [lm, cls] = tf.tidy(() => {
        const hidden = model.hidden(model.embed(tf.tensor2d(IDS, undefined, "int32")), tf.tensor2d(MASK));
        return [
          tf.slice(model.lmLogits?.(hidden) as tf.Tensor3D, [0, 0, 0], [-1, -1, 256]),
          model.classLogits(hidden, IDS, new Map([["score.weight", tf.tensor2d(SCORE, [3, 64])]])),
        ];
      });
      const lmValues = lm.arraySync() as number[][][];
      IDS.forEach((row, b) =>
        row.forEach((_, t) => {
          if (MASK[b]?.[t] === 0) return;
          lmValues[b]?.[t]?.forEach((value, v) =>
            expect(Math.abs(value - (expected.lm[b]?.[t]?.[v] ?? NaN))).toBeLessThan(2e-5),
          );
        }),
      );
      (cls.arraySync() as number[][]).forEach((row, b) =>
        row.forEach((value, c) => expect(value).toBeCloseTo(expected.cls[b]?.[c] ?? NaN, 5)),
      );
      tf.dispose([lm, cls]);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    }
  }, 120_000);

  it("pools a right-padded row's last real token when the config names no pad token, as the torch engine does", async () => {
    await selectBackend("cpu");
    // Real checkpoints such as stories260K have pad_token_id null; batches are then padded with
    // id 0, and the torch engine gives transformers pad_token_id 0 for the same rule.
    const dir = tempDir();
    const source = tinyLlamaDir(tempDir());
    for (const file of ["model.safetensors", "tokenizer.json", "tokenizer_config.json"])
      copyFileSync(join(source, file), join(dir, file));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...TINY_LLAMA_CONFIG, pad_token_id: null }));
    const model = loadModel(dir);
    const head = new Map([["score.weight", tf.tensor2d(SCORE, [3, 64])]]);
    const logits = (ids: number[][], mask: number[][]) =>
      tf.tidy(
        () =>
          model
            .classLogits(model.hidden(model.embed(tf.tensor2d(ids, undefined, "int32")), tf.tensor2d(mask)), ids, head)
            .arraySync() as number[][],
      );
    const batch = logits(IDS, MASK);
    IDS.forEach((row, b) => {
      const real = row.filter((_, t) => MASK[b]?.[t] === 1);
      const alone = logits([real], [real.map(() => 1)])[0] as number[];
      alone.forEach((value, c) => expect(batch[b]?.[c]).toBeCloseTo(value, 5));
    });
    tf.dispose([...head.values()]);
    model.dispose();
  }, 60_000);
});

describe("tfjs Llama generation and rope scaling", () => {
  it("greedy generation with a KV cache over left-padded prompts writes the tokens transformers' generate writes", async () => {
    await selectBackend("cpu");
    const dir = tinyLlamaDir(tempDir());
    const prompts = [
      [1, 15043, 3186, 29892, 920, 526, 366],
      [1, 306, 763],
      [1, 450, 4799, 338, 7254],
    ];
    const script = `
import json, sys, torch
from transformers import AutoModelForCausalLM
d, prompts = sys.argv[1], json.loads(sys.argv[2])
width = max(len(p) for p in prompts)
ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
model = AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32).eval()
out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=12, do_sample=False, pad_token_id=0, eos_token_id=2)
rows = []
for row in out[:, width:].tolist():
    rows.append(row[: row.index(2)] if 2 in row else row)
print(json.dumps(rows))
`;
    const result = await execa(referencePython, ["-c", script, dir, JSON.stringify(prompts)], {
      env: { TRANSFORMERS_VERBOSITY: "error" },
    });
    const expected = JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as number[][];
    const model = loadModel(dir);
    const before = tf.memory().numTensors;
    const generated = generate(model, prompts, { maxNewTokens: 12, stopIds: new Set([2]), temperature: 0, topP: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(generated).toEqual(expected);
    expect(generated.every((row) => row.length > 0)).toBe(true);
    // One prompt alone continues exactly as it does inside the padded batch.
    expect(
      generate(model, [prompts[1] as number[]], { maxNewTokens: 12, stopIds: new Set([2]), temperature: 0, topP: 1 }),
    ).toEqual([generated[1]]);
    model.dispose();
  }, 120_000);

  it("applies Llama 3.1 rope scaling as transformers does", async () => {
    await selectBackend("cpu");
    const dir = tempDir();
    const source = tinyLlamaDir(tempDir());
    for (const file of ["model.safetensors", "tokenizer.json", "tokenizer_config.json"])
      copyFileSync(join(source, file), join(dir, file));
    // A short original context, so the tiny head's frequencies fall in all three bands.
    const rope = {
      rope_type: "llama3",
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 16,
    };
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...TINY_LLAMA_CONFIG, rope_scaling: rope }));
    const ids = [Array.from({ length: 24 }, (_, i) => 100 + i * 37)];
    const mask = [ids[0]?.map(() => 1) ?? []];
    const script = `
import json, sys, torch
from transformers import AutoModelForCausalLM
model = AutoModelForCausalLM.from_pretrained(sys.argv[1], torch_dtype=torch.float32).eval()
with torch.no_grad():
    print(json.dumps(model(input_ids=torch.tensor(json.loads(sys.argv[2]))).logits[:, :, :64].tolist()))
`;
    const result = await execa(referencePython, ["-c", script, dir, JSON.stringify(ids)], {
      env: { TRANSFORMERS_VERBOSITY: "error" },
    });
    const expected = JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as number[][][];
    const model = loadModel(dir);
    const logits = tf.tidy(
      () =>
        tf
          .slice(
            model.lmLogits?.(
              model.hidden(model.embed(tf.tensor2d(ids, undefined, "int32")), tf.tensor2d(mask)),
            ) as tf.Tensor3D,
            [0, 0, 0],
            [-1, -1, 64],
          )
          .arraySync() as number[][][],
    );
    logits[0]?.forEach((row, t) =>
      row.forEach((value, v) => expect(Math.abs(value - (expected[0]?.[t]?.[v] ?? NaN))).toBeLessThan(2e-5)),
    );
    model.dispose();
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ ...TINY_LLAMA_CONFIG, rope_scaling: { rope_type: "yarn", factor: 4 } }),
    );
    expect(() => loadModel(dir)).toThrow(/rope type "yarn" is not supported by the tfjs engine/);
  }, 120_000);
});
