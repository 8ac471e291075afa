import type { Gate, Metric, RunPlan, SplitName } from "../recipe/index.js";

/** The metrics recorded for one checkpoint, per evaluated split. */
export interface CheckpointMetrics {
  dir: string;
  step: number;
  splits: Partial<Record<SplitName, Partial<Record<Metric, number>>>>;
}

export interface GateResult {
  text: string;
  /** The metric's value at the best checkpoint, or null when that split was not evaluated. */
  value: number | null;
  passed: boolean;
}

export interface Selection {
  best: CheckpointMetrics | null;
  metric: Metric;
  split: SplitName | null;
  /** The best checkpoint's value of the selection metric (null when chosen as the newest). */
  value: number | null;
  gates: GateResult[];
  /** Every gate passed (true when there are none). */
  passed: boolean;
}

/**
 * The best checkpoint by the recipe's metric on the selection split (the first one reaching the
 * best value wins, as the Trainer keeps it), or the newest when no split is fit for selection;
 * then the recipe's gates judged on it.
 */
export function selectBest(checkpoints: readonly CheckpointMetrics[], evaluation: RunPlan["eval"]): Selection {
  const metric = evaluation.best_metric;
  const split = evaluation.selection_split;
  const ordered = [...checkpoints].sort((a, b) => a.step - b.step);
  let best: CheckpointMetrics | null = null;
  let value: number | null = null;
  if (split) {
    for (const checkpoint of ordered) {
      const candidate = checkpoint.splits[split]?.[metric];
      if (candidate === undefined || !Number.isFinite(candidate)) continue;
      if (value === null || (evaluation.greater_is_better ? candidate > value : candidate < value)) {
        best = checkpoint;
        value = candidate;
      }
    }
  } else {
    best = ordered.at(-1) ?? null;
  }
  const gates = judgeGates(evaluation.gates, best);
  return { best, metric, split, value, gates, passed: gates.every((g) => g.passed) };
}

/** The recipe's gates judged on one checkpoint's metrics; a split it was not evaluated on fails. */
export function judgeGates(gates: readonly Gate[], checkpoint: CheckpointMetrics | null): GateResult[] {
  return gates.map((gate) => judge(gate, checkpoint));
}

function judge(gate: Gate, best: CheckpointMetrics | null): GateResult {
  const value = best?.splits[gate.split]?.[gate.metric] ?? null;
  if (value === null) return { text: gate.text, value, passed: false };
  const passed = {
    ">=": value >= gate.value,
    ">": value > gate.value,
    "<=": value <= gate.value,
    "<": value < gate.value,
    "==": value === gate.value,
  }[gate.op];
  return { text: gate.text, value, passed };
}
