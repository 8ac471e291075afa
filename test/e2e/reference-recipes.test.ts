import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunPlan } from "../../src/recipe/index.js";
import { ROOT, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

/**
 * Every reference recipe, exactly as shipped, run end to end on a built-in tiny model with a
 * short training (`--model builtin:… --max-steps 2`): the documented way to check a recipe on a
 * CPU before spending GPU time on its real base model.
 */
// The two collective-action stages run as their pipeline, below.
// The 4-bit recipes need the torch engine (CI has it); the rest run on tfjs, which starts faster.
const RECIPES: Array<[recipe: string, model: string, engine: string]> = [
  ["lora-bias", "builtin:tiny-llama", "auto"],
  ["stop-hate", "builtin:tiny-llama", "auto"],
  ["stance-encoder", "builtin:tiny-bert", "tfjs"],
  ["stance-zero-shot", "builtin:tiny-llama", "tfjs"],
  ["stance-few-shot", "builtin:tiny-llama", "tfjs"],
  ["stance-survey", "builtin:tiny-llama", "tfjs"],
];

describe("the reference recipes run end to end on tiny models", () => {
  it.each(RECIPES)(
    "%s on %s (engine %s)",
    async (recipe, model, engine) => {
      const dir = tempDir();
      const result = await tune(
        [
          "recipe",
          join(ROOT, "recipes", `${recipe}.yaml`),
          "--model",
          model,
          "--engine",
          engine,
          "--max-steps",
          "2",
          "--out",
          dir,
        ],
        { env: { TUNE_CACHE_DIR: testCache(dir) } },
      );
      expect(result.exitCode, result.stderr).toBe(0);
      const runDir = join(dir, recipe);
      const plan = JSON.parse(readFileSync(join(runDir, "plan.json"), "utf8")) as RunPlan;
      expect(plan.model.base).toBe(model);
      if (plan.task !== "prompting") expect(plan.training.max_steps).toBe(2);
      const best = JSON.parse(readFileSync(join(runDir, "best.json"), "utf8")) as { checkpoint: string };
      expect(existsSync(join(runDir, "report.html"))).toBe(true);
      const metrics = JSON.parse(readFileSync(join(runDir, best.checkpoint, "metrics.json"), "utf8")) as Record<
        string,
        { metrics: Record<string, number>; examples: number; distribution?: unknown }
      >;
      for (const split of plan.eval.splits.filter((s) => plan.data.splits.includes(s))) {
        for (const metric of plan.eval.metrics)
          expect(metrics[split]?.metrics[metric], `${split}.${metric}`).toBeTypeOf("number");
      }
      for (const column of plan.eval.subgroups) {
        // The survey's distributions within each subgroup cover every respondent once.
        const groups =
          (metrics.eval as unknown as { subgroups: Record<string, Array<{ examples: number }>> }).subgroups[column] ??
          [];
        expect(
          groups.reduce((sum, g) => sum + g.examples, 0),
          column,
        ).toBe(metrics.eval?.examples);
      }
      if (plan.data.labels && plan.task !== "sequence-classification") {
        // Generated answers land in the closed label set or the recipe's fallback, never elsewhere.
        const predictions = readFileSync(
          join(runDir, best.checkpoint, "predictions", `${plan.eval.splits[0]}.jsonl`),
          "utf8",
        )
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as { answer: string; gold: string });
        expect(predictions.every((p) => plan.data.labels?.includes(p.gold))).toBe(true);
        expect(predictions.every((p) => typeof p.answer === "string")).toBe(true);
      }
    },
    180_000,
  );

  // Both stages generate on the torch engine with the built-in NF4 quantizer: about three CPU-minutes.
  it("collective-action.pipeline.yaml: both stages, then the chain end to end", async () => {
    const dir = tempDir();
    const result = await tune(
      [
        "pipeline",
        join(ROOT, "recipes", "collective-action.pipeline.yaml"),
        "--model",
        "builtin:tiny-llama",
        "--max-steps",
        "2",
        "--out",
        dir,
        "--json",
      ],
      { env: { TUNE_CACHE_DIR: testCache(dir) } },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      stages: Array<{ run: string; best: string }>;
      end_to_end: { examples: number; seen: number[]; labels: string[] };
    };
    expect(summary.stages.map((s) => s.run)).toEqual([
      join(dir, "collective-action-presence"),
      join(dir, "collective-action"),
    ]);
    expect(summary.end_to_end.examples).toBe(60);
    expect(summary.end_to_end.seen[0]).toBe(60);
    expect(summary.end_to_end.labels).toEqual(["none", "Problem-Solution", "Call-to-Action", "Intention", "Execution"]);
    expect(existsSync(join(dir, "collective-action-layered", "end-to-end.json"))).toBe(true);
  }, 300_000);
});
