import type { Metric, RunPlan, SplitName } from "../recipe/index.js";
import type { SplitEvaluation } from "./evaluate-predictions.js";
import { classificationReportText, confusionMatrixText } from "./report-text.js";
import type { CheckpointMetrics, GateResult } from "./select-best.js";

/** best.json: the chosen checkpoint (an absolute path once read), its selection value and gates. */
export interface BestRecord {
  checkpoint: string | null;
  step: number | null;
  metric: Metric;
  split: SplitName | null;
  value: number | null;
  gates: GateResult[];
  passed: boolean;
}

/** Everything a run's report shows, gathered from its directory. */
export interface RunReport {
  plan: RunPlan;
  state: RunState;
  best: BestRecord | null;
  checkpoints: CheckpointMetrics[];
  /** The best checkpoint's evaluations (report, confusion matrix, distributions) per split. */
  bestEvaluations: Partial<Record<SplitName, SplitEvaluation>>;
  /** trainer_state.json's log_history of the newest checkpoint: loss, lr, grad norm per logged step. */
  history: Array<{ step: number; loss?: number; learning_rate?: number; grad_norm?: number; epoch?: number }>;
}

export type RunState =
  | { kind: "finished"; step: number }
  | { kind: "stopped"; step: number }
  | { kind: "running"; step: number }
  | { kind: "failed"; step: number; why: string }
  | { kind: "not started" };

/** The end-of-run summary printed in the terminal: best checkpoint, gates, metrics per checkpoint, the best's reports. */
export function runReportText(report: RunReport): string {
  const lines: string[] = [];
  const { best, plan } = report;
  if (best?.checkpoint) {
    const by =
      best.split && best.value !== null
        ? ` by ${best.metric} on ${best.split} = ${best.value.toFixed(4)}`
        : " (the newest: no split is fit for selection)";
    lines.push(`best checkpoint: ${best.checkpoint} (step ${best.step})${by}`);
  }
  for (const gate of best?.gates ?? [])
    lines.push(
      `gate ${gate.text}: ${gate.passed ? "passed" : "FAILED"} (${gate.value === null ? "not evaluated" : gate.value.toFixed(4)})`,
    );
  const columns = plan.eval.splits
    .flatMap((split) => [...new Set([...plan.eval.metrics, "loss" as const])].map((metric) => [split, metric] as const))
    .filter(([split, metric]) => report.checkpoints.some((c) => c.splits[split]?.[metric] !== undefined));
  if (columns.length > 0) {
    const header = ["step", ...columns.map(([split, metric]) => `${split}.${metric}`)];
    const rows = report.checkpoints.map((c) => [
      `${c.step}${c.dir === best?.checkpoint ? "*" : ""}`,
      ...columns.map(([split, metric]) => c.splits[split]?.[metric]?.toFixed(4) ?? "-"),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    lines.push(
      "",
      [header, ...rows].map((r) => r.map((cell, i) => cell.padStart(widths[i] as number)).join("  ")).join("\n"),
    );
  }
  for (const [split, evaluation] of Object.entries(report.bestEvaluations)) {
    if (!evaluation?.report) continue;
    lines.push(
      "",
      `${split} (best checkpoint, ${evaluation.examples} examples${evaluation.unparsed ? `, ${evaluation.unparsed} answers matched no label` : ""}):`,
      classificationReportText(evaluation.report),
      "",
      confusionMatrixText(evaluation.report),
    );
    for (const [column, groups] of Object.entries(evaluation.subgroups ?? {})) {
      const width = Math.max(column.length, ...groups.map((g) => g.value.length));
      lines.push(
        "",
        `${split} label shares by ${column} (total variation, Jensen-Shannon distance):`,
        `${column.padEnd(width)}  examples      TV      JS`,
        ...groups.map(
          (g) =>
            `${g.value.padEnd(width)}  ${String(g.examples).padStart(8)}  ${g.distribution.totalVariation.toFixed(4)}  ${g.distribution.jsDistance.toFixed(4)}`,
        ),
      );
    }
  }
  return lines.join("\n");
}
