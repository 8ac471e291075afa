import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DatasetManifest, PreparedData } from "../../src/data/index.js";
import { loadRecipe, resolvePlan } from "../../src/index.js";
import { completePlan } from "../../src/run/index.js";
import { tempDir } from "../support/temp-dir.js";

const FIVE_LINES = `task: sequence-classification
model: {base: builtin:tiny-llama}
data:
  file: reviews.csv
  labels: [negative, positive]
`;

/** Prepared data with only a train split of `count` examples: all completePlan reads. */
function preparedWithTrain(count: number): PreparedData {
  return {
    key: "k",
    dir: "/cache",
    cached: true,
    droppedEmpty: 0,
    datasets: [],
    warnings: [],
    splits: { train: { dir: "/cache/train", manifest: { count } as DatasetManifest } },
  };
}

describe("resolving a recipe into a plan", () => {
  it("a five-line recipe resolves with every default explicit", async () => {
    const dir = tempDir({ "starter.yaml": FIVE_LINES, "reviews.csv": "text,label\n" });
    const loaded = await loadRecipe(join(dir, "starter.yaml"));
    const plan = resolvePlan(loaded, { out: join(dir, "out") });

    expect(plan.plan_version).toBe(3);
    expect(plan.schedule).toBeNull();
    expect(plan.name).toBe("starter");
    expect(plan.run_dir).toBe(join(dir, "out", "starter"));
    expect(plan.model.source).toEqual({ kind: "builtin", name: "tiny-llama" });
    expect(plan.data.file).toBe(join(dir, "reviews.csv"));
    expect(plan.data.splits).toEqual(["train", "eval", "test"]);
    expect(plan.lora).toMatchObject({
      r: 16,
      alpha: 32,
      dropout: 0.05,
      target_modules: "all-linear",
      task_type: "SEQ_CLS",
    });
    expect(plan.training).toMatchObject({
      epochs: 3,
      max_steps: null,
      batch_size: 8,
      eval_batch_size: 8,
      warmup_steps: 0,
      warmup_ratio: null,
      effective_batch_size: 8,
    });
    expect(plan.eval).toEqual({
      splits: ["eval", "test"],
      metrics: ["accuracy", "f1_macro", "f1_weighted"],
      best_metric: "f1_weighted",
      greater_is_better: true,
      selection_split: "eval",
      gates: [],
      parse: { match: "contains", fallback: "error" },
      subgroups: [],
    });
    expect(plan.quantization).toBeNull();
    expect(plan.hub).toBeNull();
    expect(JSON.stringify(plan)).not.toContain("undefined");
    expect(Object.values(plan).includes(undefined)).toBe(false);
  });

  it("parses gates and picks the metric direction", async () => {
    const dir = tempDir({
      "r.yaml": `${FIVE_LINES}eval:\n  best_metric: loss\n  gates: ["f1_weighted >= 0.9", "test.accuracy > 0.75"]\n`,
      "reviews.csv": "",
    });
    const plan = resolvePlan(await loadRecipe(join(dir, "r.yaml")));
    expect(plan.eval.greater_is_better).toBe(false);
    expect(plan.eval.metrics).toEqual(["accuracy", "f1_macro", "f1_weighted", "loss"]);
    expect(plan.eval.gates).toEqual([
      { text: "f1_weighted >= 0.9", split: "eval", metric: "f1_weighted", op: ">=", value: 0.9 },
      { text: "test.accuracy > 0.75", split: "test", metric: "accuracy", op: ">", value: 0.75 },
    ]);
  });

  it("max_steps replaces epochs and fixes the total step count", async () => {
    const dir = tempDir({
      "r.yaml": `${FIVE_LINES}training:\n  max_steps: 200\n  warmup_ratio: 0.1\n  gradient_accumulation: 4\n`,
      "reviews.csv": "",
    });
    const plan = resolvePlan(await loadRecipe(join(dir, "r.yaml")));
    expect(plan.training).toMatchObject({
      epochs: null,
      max_steps: 200,
      warmup_steps: null,
      warmup_ratio: 0.1,
      effective_batch_size: 32,
    });
    expect(completePlan(plan, preparedWithTrain(1000)).schedule).toEqual({
      total_steps: 200,
      warmup_steps: 20,
      steps_per_epoch: 32,
      checkpoint_every: 32,
      micro_batches_per_step: 4,
    });
  });

  it("the schedule is completed once from the train split's size: epochs, warmup, checkpoints, processes", async () => {
    const dir = tempDir({
      "r.yaml": `${FIVE_LINES}training:\n  epochs: 2.5\n  batch_size: 4\n  gradient_accumulation: 2\n  warmup_ratio: 0.25\ncheckpoints:\n  every: 3\ndistributed:\n  processes: 2\n`,
      "reviews.csv": "",
    });
    const plan = resolvePlan(await loadRecipe(join(dir, "r.yaml")));
    // 50 examples: 13 micro-batches of 4, 4 per step over two processes -> 4 steps an epoch.
    const complete = completePlan(plan, preparedWithTrain(50));
    expect(complete.schedule).toEqual({
      total_steps: 10,
      warmup_steps: 3,
      steps_per_epoch: 4,
      checkpoint_every: 3,
      micro_batches_per_step: 4,
    });
    expect(complete.data.manifests).toEqual({ train: "/cache/train/manifest.json" });
  });

  it("a causal-lm recipe is judged by loss and a Hub id stays a Hub id", async () => {
    const dir = tempDir({
      "chat.yaml":
        "task: causal-lm\nmodel: {base: meta-llama/Llama-3.2-1B}\ndata: {train: chats.jsonl, eval: chats.jsonl}\n",
      "chats.jsonl": "",
    });
    const plan = resolvePlan(await loadRecipe(join(dir, "chat.yaml")));
    expect(plan.model.source).toEqual({ kind: "hub", id: "meta-llama/Llama-3.2-1B" });
    expect(plan.lora.task_type).toBe("CAUSAL_LM");
    expect(plan.eval).toMatchObject({
      splits: ["eval"],
      metrics: ["loss"],
      best_metric: "loss",
      greater_is_better: false,
    });
    expect(plan.data.splits).toEqual(["train", "eval"]);
  });

  it("a local model folder resolves to an absolute path relative to the recipe", async () => {
    const dir = tempDir({
      "models/tiny/config.json": "{}",
      "recipes/r.yaml": "task: causal-lm\nmodel: {base: ../models/tiny}\ndata: {train: ../d.jsonl}\n",
      "d.jsonl": "",
    });
    const plan = resolvePlan(await loadRecipe(join(dir, "recipes/r.yaml")));
    expect(plan.model.source).toEqual({ kind: "local", path: join(dir, "models/tiny") });
    expect(plan.data.train).toBe(join(dir, "d.jsonl"));
  });

  it("--model and --engine overrides are applied and recorded", async () => {
    const dir = tempDir({
      "r.yaml": FIVE_LINES.replace("builtin:tiny-llama", "meta-llama/Llama-3.2-1B"),
      "reviews.csv": "",
    });
    const loaded = await loadRecipe(join(dir, "r.yaml"), { model: "builtin:tiny-bert", engine: "tfjs" });
    const plan = resolvePlan(loaded);
    expect(plan.model.base).toBe("builtin:tiny-bert");
    expect(plan.engine).toBe("tfjs");
    expect(plan.recipe.overrides).toEqual({ model: "builtin:tiny-bert", engine: "tfjs" });
    expect(plan.recipe.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(dir, "r.yaml"), "utf8")).toBe(loaded.sourceText);
  });
});
