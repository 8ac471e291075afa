import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { openModelWeights } from "../../src/adapter/index.js";
import { adaptedModel, restoreAdapter } from "../../src/engine/tfjs/adapted-model.js";
import { loadModel, selectBackend } from "../../src/engine/tfjs/index.js";
import type { RunPlan } from "../../src/recipe/index.js";
import { hasStackTrace, tune } from "../support/cli.js";
import { referencePython } from "../support/reference-python.js";
import { fixtureCopy } from "../support/fixtures.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

describe("tune merge on a trained classifier", () => {
  it("gives the merged model the logits of base + adapter, in tfjs and in transformers", async () => {
    // The merge fixture: runs/cls, LoRA r 4 on every linear layer, 4 steps, one checkpoint.
    const dir = fixtureCopy("merge");
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    const merged = await tune(["merge", "runs/cls", "--out", "merged", "--dtype", "fp32", "--json"], { cwd: dir, env });
    expect(merged.exitCode, merged.stderr).toBe(0);
    const summary = JSON.parse(merged.stdout) as {
      checkpoint: string;
      merged: number;
      replaced: number;
      files: string[];
    };
    expect(summary.checkpoint).toBe(join(dir, "runs/cls/checkpoint-4"));
    expect(summary.merged).toBe(2 * 7);
    expect(summary.replaced).toBe(1);
    expect(summary.files).toContain("README.md");
    const config = JSON.parse(readFileSync(join(dir, "merged/config.json"), "utf8")) as {
      architectures: string[];
      id2label: Record<string, string>;
    };
    expect(config.architectures).toEqual(["LlamaForSequenceClassification"]);
    expect(config.id2label).toEqual({ "0": "good", "1": "bad" });

    await selectBackend("cpu");
    const plan = JSON.parse(readFileSync(join(dir, "runs/cls/plan.json"), "utf8")) as RunPlan;
    const baseDir = (
      JSON.parse(readFileSync(join(dir, "merged/config.json"), "utf8")) as { tune_merge: { base: string } }
    ).tune_merge.base;
    const ids = [
      [1, 450, 4796, 338, 263, 1243, 29889],
      [1, 306, 763, 372, 2],
    ];
    const padded = ids.map((row) => [...row, ...Array(7 - row.length).fill(0)]);
    const mask = tf.tensor2d(ids.map((row) => Array.from({ length: 7 }, (_, t) => (t < row.length ? 1 : 0))));
    const adapted = adaptedModel(plan, baseDir);
    restoreAdapter(join(dir, "runs/cls/checkpoint-4"), adapted);
    const adapt = adapted.lora.adapter(null);
    const reference = adapted.model
      .classLogits(
        adapted.model.hidden(adapted.model.embed(tf.tensor2d(padded, undefined, "int32")), mask, { adapt }),
        ids,
        adapted.head,
        { adapt },
      )
      .arraySync();
    const plain = loadModel(join(dir, "merged"));
    const weights = openModelWeights(join(dir, "merged"));
    const head = new Map([
      ["score.weight", tf.tensor2d(weights.readFloat32("score.weight"), [2, plain.config.hiddenSize])],
    ]);
    weights.close();
    const logits = plain
      .classLogits(plain.hidden(plain.embed(tf.tensor2d(padded, undefined, "int32")), mask), ids, head)
      .arraySync();
    for (let r = 0; r < 2; r++)
      for (let c = 0; c < 2; c++) expect(logits[r]?.[c]).toBeCloseTo(reference[r]?.[c] as number, 4);

    // transformers loads the merged folder as a classifier with no PEFT, and agrees with PEFT on base + adapter.
    const script = `
import json, sys, torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification
ids = torch.tensor([[1, 450, 4796, 338, 263, 1243, 29889]])
merged = AutoModelForSequenceClassification.from_pretrained(sys.argv[1]).eval()
base = AutoModelForSequenceClassification.from_pretrained(sys.argv[2], num_labels=2, pad_token_id=0)
peft = PeftModel.from_pretrained(base, sys.argv[3]).eval()
with torch.no_grad():
    print(json.dumps({"merged": merged(ids).logits[0].tolist(), "peft": peft(ids).logits[0].tolist(), "labels": merged.config.id2label}))
`;
    const python = await execa(
      referencePython,
      ["-W", "ignore", "-c", script, join(dir, "merged"), baseDir, join(dir, "runs/cls/checkpoint-4")],
      { reject: false },
    );
    expect(python.exitCode, python.stderr).toBe(0);
    const compared = JSON.parse(python.stdout.trim().split("\n").at(-1) as string) as {
      merged: number[];
      peft: number[];
      labels: Record<string, string>;
    };
    expect(compared.labels).toEqual({ "0": "good", "1": "bad" });
    for (let c = 0; c < 2; c++) expect(compared.merged[c]).toBeCloseTo(compared.peft[c] as number, 4);
    expect(compared.merged[0]).toBeCloseTo(reference[0]?.[0] as number, 3);
  }, 120_000);

  it("explains a bad --dtype and a missing checkpoint without a stack trace", async () => {
    const dir = tempDir();
    const dtype = await tune(["merge", dir, "--out", "x", "--dtype", "int4"], { cwd: dir });
    expect(dtype.exitCode).toBe(2);
    expect(dtype.stderr).toContain("--dtype int4");
    const missing = await tune(["merge", join(dir, "nope"), "--out", "x"], { cwd: dir });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain("does not exist");
    expect(hasStackTrace(dtype.stderr + missing.stderr)).toBe(false);
  });
});
