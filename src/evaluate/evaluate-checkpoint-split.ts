import { dirname } from "node:path";
import { recordSplitEvaluation } from "../checkpoint/index.js";
import { readSubgroups } from "../data/index.js";
import { evaluatePredictions, type SplitEvaluation } from "../eval/index.js";
import type { RunPlan, SplitName } from "../recipe/index.js";

/**
 * Judges the predictions an engine wrote for one split of a checkpoint and records the result
 * in the checkpoint's metrics.json (one entry per split, written atomically).
 */
export function evaluateCheckpointSplit(
  plan: RunPlan,
  checkpoint: string,
  split: SplitName,
  predictions: string,
): SplitEvaluation {
  const manifest = plan.data.manifests?.[split];
  const evaluation = evaluatePredictions(plan, split, predictions, manifest ? readSubgroups(dirname(manifest)) : null);
  recordSplitEvaluation(checkpoint, split, evaluation);
  return evaluation;
}
