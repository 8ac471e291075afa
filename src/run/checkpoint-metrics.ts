import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CheckpointMetrics, SplitEvaluation } from "../eval/index.js";
import type { SplitName } from "../recipe/index.js";

/** The metrics a checkpoint's metrics.json records per split (none when it was never evaluated). */
export function checkpointMetrics(dir: string, step: number): CheckpointMetrics {
  const file = join(dir, "metrics.json");
  const recorded = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Partial<Record<SplitName, SplitEvaluation>>) : {};
  return { dir, step, splits: Object.fromEntries(Object.entries(recorded).map(([split, evaluation]) => [split, evaluation?.metrics ?? {}])) };
}
