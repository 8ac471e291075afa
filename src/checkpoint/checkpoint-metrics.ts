import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { CheckpointMetrics, SplitEvaluation } from "../eval/index.js";
import { writeFileAtomic } from "../files/index.js";
import { SPLITS, type SplitName } from "../recipe/index.js";

/**
 * A checkpoint's metrics.json: one evaluation per split. It is written after the checkpoint's
 * manifest (evaluation follows training), so no hash covers it: a torn or foreign file counts
 * as never evaluated, and the runner judges the checkpoint again instead of failing on it.
 */
export function checkpointEvaluations(dir: string): Partial<Record<SplitName, SplitEvaluation>> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8"));
  } catch {
    return {};
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return {};
  const evaluations: Partial<Record<SplitName, SplitEvaluation>> = {};
  for (const split of SPLITS) {
    const evaluation = (value as Record<string, unknown>)[split] as SplitEvaluation | undefined;
    if (evaluation && typeof evaluation === "object" && evaluation.metrics && typeof evaluation.metrics === "object")
      evaluations[split] = evaluation;
  }
  return evaluations;
}

/** Records one split's evaluation in the checkpoint's metrics.json, keeping the other splits'. */
export function recordSplitEvaluation(dir: string, split: SplitName, evaluation: SplitEvaluation): void {
  const recorded = { ...checkpointEvaluations(dir), [split]: evaluation };
  writeFileAtomic(join(dir, "metrics.json"), `${JSON.stringify(recorded, null, 2)}\n`);
}

/** The metrics a checkpoint's metrics.json records per split (none when it was never evaluated). */
export function checkpointMetrics(dir: string, step: number): CheckpointMetrics {
  const splits = Object.entries(checkpointEvaluations(dir)).map(([split, evaluation]) => [
    split,
    Object.fromEntries(Object.entries(evaluation?.metrics ?? {}).filter(([, v]) => typeof v === "number")),
  ]);
  return { dir, step, splits: Object.fromEntries(splits) };
}
