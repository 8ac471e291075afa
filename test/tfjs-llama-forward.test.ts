import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { writeSafetensors } from "../src/adapter/index.js";
import { tinyLlamaDir } from "../src/builtin/index.js";
import { lastNonPad, loadModel, selectBackend } from "../src/engine/tfjs/index.js";
import { tempDir } from "./support/temp-dir.js";

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
  const result = await execa("python3", ["-c", script, dir, scoreFile, JSON.stringify(IDS), JSON.stringify(MASK)], { env: { TRANSFORMERS_VERBOSITY: "error" } });
  return JSON.parse(result.stdout.trim().split("\n").at(-1) as string) as { lm: number[][][]; cls: number[][] };
}

describe("tfjs Llama forward pass", () => {
  it("finds the last non-pad token as transformers does", () => {
    expect(lastNonPad([1, 5, 6, 0, 0], 0)).toBe(2);
    expect(lastNonPad([0, 0, 0], 0)).toBe(0);
    expect(lastNonPad([1, 5, 6], null)).toBe(2);
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
        return [tf.slice(model.lmLogits?.(hidden) as tf.Tensor3D, [0, 0, 0], [-1, -1, 256]), model.classLogits(hidden, IDS, new Map([["score.weight", tf.tensor2d(SCORE, [3, 64])]]))];
      });
      const lmValues = lm.arraySync() as number[][][];
      IDS.forEach((row, b) =>
        row.forEach((_, t) => {
          if (MASK[b]?.[t] === 0) return;
          lmValues[b]?.[t]?.forEach((value, v) => expect(Math.abs(value - (expected.lm[b]?.[t]?.[v] ?? NaN))).toBeLessThan(2e-5));
        }),
      );
      (cls.arraySync() as number[][]).forEach((row, b) => row.forEach((value, c) => expect(value).toBeCloseTo(expected.cls[b]?.[c] ?? NaN, 5)));
      tf.dispose([lm, cls]);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    }
  }, 120_000);
});
