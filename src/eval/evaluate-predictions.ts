import { readFileSync } from "node:fs";
import { ExitCode, TuneError } from "../errors/index.js";
import type { Metric, RunPlan, SplitName } from "../recipe/index.js";
import { classificationReport, type ClassificationReport } from "./classification-report.js";
import { compareDistributions, type DistributionComparison } from "./distribution.js";
import { parseAnswer } from "./parse-answer.js";

/** One row of predictions/<split>.jsonl (contract 5). */
export interface PredictionRow {
  id: string;
  gold: string | null;
  /** Classifier output: the predicted label and every class probability. */
  pred?: string;
  probs?: Record<string, number>;
  /** Generated output: the raw answer, and its reference's mean token loss over `tokens` tokens. */
  answer?: string;
  loss?: number;
  tokens?: number;
}

export interface SplitEvaluation {
  split: SplitName;
  examples: number;
  metrics: Partial<Record<Metric, number>>;
  report: ClassificationReport | null;
  distribution: DistributionComparison | null;
  /** Generated answers that matched no label, with the label they were given. */
  unparsed: number;
  /** eval.subgroups: the label share comparison within each value of each column. */
  subgroups?: Record<string, Array<{ value: string; examples: number; distribution: DistributionComparison }>>;
}

/**
 * Judges one split's predictions: the classification report (scikit-learn's numbers), generated
 * answers parsed into the label set first, the error rate of answers that matched no label, the
 * predicted against the true label distribution, and the loss.
 */
export function evaluatePredictions(
  plan: RunPlan,
  split: SplitName,
  file: string,
  groups: Record<string, ReadonlyMap<string, string>> | null = null,
): SplitEvaluation {
  const rows = readPredictions(file);
  const labels = plan.data.labels;
  const metrics: Partial<Record<Metric, number>> = {};
  const loss = splitLoss(rows);
  if (loss !== null) metrics.loss = loss;
  if (!labels) return { split, examples: rows.length, metrics, report: null, distribution: null, unparsed: 0 };
  const rules = { ...plan.eval.parse, answerAfter: plan.generation.answer_after };
  const predicted = rows.map((row) => row.pred ?? parseAnswer(row.answer ?? "", labels, rules));
  const unparsed = rows.filter(
    (row, i) => row.pred === undefined && predicted[i] === rules.fallback && !labels.includes(rules.fallback),
  ).length;
  const judgedRows = rows
    .map((row, i) => ({ id: row.id, gold: row.gold, pred: predicted[i] as string }))
    .filter((r): r is { id: string; gold: string; pred: string } => r.gold !== null);
  const judged = judgedRows.map((r) => [r.gold, r.pred] as const);
  const report = classificationReport(
    judged.map(([g]) => g),
    judged.map(([, p]) => p),
    labels,
  );
  const distribution = compareDistributions(
    judged.map(([g]) => g),
    judged.map(([, p]) => p),
    labels,
  );
  Object.assign(metrics, {
    accuracy: report.accuracy,
    f1_macro: report.macro.f1,
    f1_weighted: report.weighted.f1,
    f1_micro: report.micro.f1,
    precision_macro: report.macro.precision,
    precision_weighted: report.weighted.precision,
    recall_macro: report.macro.recall,
    recall_weighted: report.weighted.recall,
    total_variation: distribution.totalVariation,
    js_distance: distribution.jsDistance,
  });
  if (rows.some((row) => row.pred === undefined)) metrics.error_rate = rows.length === 0 ? 0 : unparsed / rows.length;
  const subgroups = groups
    ? Object.fromEntries(
        Object.entries(groups).map(([column, valueOf]) => [column, withinGroups(judgedRows, valueOf, labels)]),
      )
    : undefined;
  return { split, examples: rows.length, metrics, report, distribution, unparsed, ...(subgroups ? { subgroups } : {}) };
}

/** The label share comparison within each value of a column, largest group first. */
function withinGroups(
  rows: ReadonlyArray<{ id: string; gold: string; pred: string }>,
  valueOf: ReadonlyMap<string, string>,
  labels: readonly string[],
) {
  const byValue = new Map<string, Array<{ gold: string; pred: string }>>();
  for (const row of rows) {
    const value = valueOf.get(row.id) ?? "";
    byValue.set(value, [...(byValue.get(value) ?? []), row]);
  }
  return [...byValue.entries()]
    .sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))
    .map(([value, members]) => ({
      value,
      examples: members.length,
      distribution: compareDistributions(
        members.map((m) => m.gold),
        members.map((m) => m.pred),
        labels,
      ),
    }));
}

/** Mean loss: -ln p(gold) per classified example, or per reference token of generated ones. */
function splitLoss(rows: readonly PredictionRow[]): number | null {
  let sum = 0;
  let count = 0;
  for (const row of rows) {
    if (row.probs && row.gold !== null && row.gold in row.probs) {
      sum -= Math.log(Math.max(row.probs[row.gold] as number, Number.MIN_VALUE));
      count++;
    } else if (row.loss !== undefined && row.tokens) {
      sum += row.loss * row.tokens;
      count += row.tokens;
    }
  }
  return count === 0 ? null : sum / count;
}

export function readPredictions(file: string): PredictionRow[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw TuneError.single(
      {
        code: "predictions-missing",
        message: `no predictions at ${file}`,
        location: { file },
        hint: "Evaluate the checkpoint again: tune eval <checkpoint>.",
      },
      ExitCode.user,
    );
  }
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      try {
        return JSON.parse(line) as PredictionRow;
      } catch {
        throw TuneError.single(
          {
            code: "predictions-corrupt",
            message: "this line is not JSON",
            location: { file, line: i + 1 },
            hint: "Delete the file and evaluate the checkpoint again: tune eval <checkpoint>.",
          },
          ExitCode.user,
        );
      }
    });
}
