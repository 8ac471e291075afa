import { resolve } from "node:path";
import { ExitCode, TuneError } from "../errors/index.js";
import type { Metric, RunPlan, SplitName } from "../recipe/index.js";
import { evaluateCheckpoint } from "../evaluate/index.js";
import { loadRunReport } from "../runs/index.js";
import { locateCheckpoint } from "../runs/index.js";

export interface ComparedRun {
  run: string;
  name: string;
  /** zero-shot, few-shot (k per class), fine-tuned (…) */
  approach: string;
  model: string;
  checkpoint: string | null;
  metrics: Partial<Record<Metric, number>>;
}

export interface RunComparison {
  split: SplitName;
  metrics: Metric[];
  runs: ComparedRun[];
  /** Set when the runs were not evaluated on the same rows, which makes the table unfair. */
  warning: string | null;
}

function approach(plan: RunPlan): string {
  if (plan.task === "prompting")
    return plan.template?.few_shot ? `few-shot (${plan.template.few_shot.per_class} per class)` : "zero-shot";
  if (plan.task === "generative-classification") return "fine-tuned (generated label)";
  if (plan.task === "sequence-classification") return "fine-tuned (classifier head)";
  return "fine-tuned";
}

/** Where a split's rows come from: its file, or the shared file and how it was split. */
function splitSource(plan: RunPlan, split: SplitName): string {
  const own = plan.data[split];
  if (typeof own === "string") return own;
  const { file, hub, split: division, sample, labels } = plan.data;
  return JSON.stringify(own ?? { file, hub, split: division, sample, labels });
}

/**
 * One row per run (zero-shot, few-shot, fine-tuned…) with its best checkpoint's metrics on one
 * split: the baseline-against-fine-tune table the reference systems report, from runs on disk.
 * A best checkpoint never evaluated on that split is evaluated now (as `tune eval` does).
 */
export async function compareRuns(runDirs: readonly string[], split?: string): Promise<RunComparison> {
  const reports = runDirs.map((dir) => ({ dir: resolve(dir), report: loadRunReport(resolve(dir)) }));
  const chosen = (split ??
    (reports.every(({ report }) => report.plan.data.splits.includes("test")) ? "test" : "eval")) as SplitName;
  for (const { dir, report } of reports) {
    if (!report.plan.data.splits.includes(chosen))
      throw TuneError.single(
        {
          code: "compare-split-missing",
          message: `${dir} has no ${chosen} split`,
          location: { file: dir },
          hint: "Pick a split every run has with --split.",
        },
        ExitCode.user,
      );
  }
  const metrics = [...new Set(reports.flatMap(({ report }) => report.plan.eval.metrics))];
  const sources = new Set(reports.map(({ report }) => splitSource(report.plan, chosen)));
  const runs: ComparedRun[] = [];
  for (const { dir, report } of reports) {
    // The best checkpoint passes the one check every verb makes before its numbers are shown.
    const best = locateCheckpoint(dir);
    let measured = best.metrics?.splits[chosen];
    if (!measured) measured = (await evaluateCheckpoint(best.checkpoint, { split: chosen })).evaluations[0]?.metrics;
    runs.push({
      run: dir,
      name: report.plan.name,
      approach: approach(report.plan),
      model: report.plan.model.base,
      checkpoint: best.checkpoint,
      metrics: measured ?? {},
    });
  }
  return {
    split: chosen,
    metrics,
    runs,
    warning:
      sources.size > 1
        ? `the runs' ${chosen} splits come from different data or splitting, so their rows differ`
        : null,
  };
}
