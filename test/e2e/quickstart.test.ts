import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

interface Event {
  type: string;
  step?: number;
  split?: string;
  examples?: number;
  loss?: number;
  metrics?: Record<string, number>;
}

async function run(recipe: string, extra: string[] = []): Promise<Event[]> {
  const out = tempDir();
  const result = await tune(["recipe", recipe, "--out", out, "--json", ...extra], {
    env: { TUNE_CACHE_DIR: testCache(out) },
  });
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Event);
}

/** The final checkpoint's test-split evaluation. */
function finalTest(events: Event[]): Event | undefined {
  return events.filter((e) => e.type === "eval" && e.split === "test").at(-1);
}

describe("the quickstart recipe", () => {
  it("trains a classifier on the tiny built-in model from chance to clearly learned, in seconds", async () => {
    const events = await run("recipes/quickstart.yaml");
    const steps = events.filter((e) => e.type === "step");
    expect((steps.at(-1)?.loss ?? 1) < (steps[0]?.loss ?? 0)).toBe(true);
    const test = finalTest(events);
    expect(test?.examples).toBe(72);
    // Two balanced classes: chance is 0.5.
    expect(test?.metrics?.accuracy).toBeGreaterThanOrEqual(0.75);
    // Every checkpoint (one per epoch) is evaluated on eval and test.
    expect(events.filter((e) => e.type === "eval").map((e) => `${e.step}:${e.split}`)).toEqual(
      [27, 54, 81, 108].flatMap((step) => [`${step}:eval`, `${step}:test`]),
    );
  }, 120_000);

  it("trains the same data on builtin:tiny-bert (BERT encoder, pooler + classifier head) to clearly learned", async () => {
    const recipe = join(tempDir(), "bert.yaml");
    const quickstart = readFileSync(join(ROOT, "recipes/quickstart.yaml"), "utf8");
    // A randomly initialised post-LayerNorm encoder needs a higher rate and more epochs than the decoder.
    writeFileSync(
      recipe,
      quickstart
        .replace("data/quickstart/", `${join(ROOT, "recipes/data/quickstart")}/`)
        .replace("lr: 1.0e-3", "lr: 5.0e-3")
        .replace("epochs: 4", "epochs: 8"),
    );
    const events = await run(recipe, ["--model", "builtin:tiny-bert"]);
    expect(events.find((e) => e.type === "start")).toMatchObject({ engine: "tfjs" });
    expect(finalTest(events)?.metrics?.accuracy).toBeGreaterThanOrEqual(0.75);
  }, 120_000);

  it("teaches the tiny decoder to write the label (generative classification): answers generated, parsed and scored", async () => {
    const recipe = join(tempDir(), "generative.yaml");
    writeFileSync(
      recipe,
      [
        "name: generative",
        "task: generative-classification",
        "engine: tfjs",
        "model: {base: builtin:tiny-llama}",
        "lora: {r: 8, alpha: 16, dropout: 0.0, target_modules: all-linear}",
        `data: {file: ${join(ROOT, "recipes/data/quickstart/reviews.csv")}, labels: [negative, positive], split: {eval: 0.2, test: 0.2, seed: 7, stratify: true}, max_length: 64}`,
        'template: {prompt: "Review: {text}\\nSentiment:", completion: " {label}"}',
        "generation: {max_new_tokens: 4}",
        "training: {epochs: 4, batch_size: 8, lr: 3.0e-3, warmup_ratio: 0.1}",
        "checkpoints: {every: 1000}",
        "eval: {splits: [test]}",
      ].join("\n"),
    );
    const events = await run(recipe);
    const predictions = events.find((e) => e.type === "predictions") as Event & { file: string };
    const rows = readFileSync(predictions.file, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { gold: string; answer: string });
    expect(rows).toHaveLength(72);
    expect(rows.every((row) => typeof row.answer === "string")).toBe(true);
    const test = finalTest(events);
    // Every answer names a label after training, and most name the right one.
    expect(test?.metrics?.error_rate).toBe(0);
    expect(test?.metrics?.accuracy).toBeGreaterThanOrEqual(0.7);
  }, 120_000);
});
