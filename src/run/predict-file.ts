import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { stringify } from "csv-stringify/sync";
import { writeFileAtomic } from "../checkpoint/index.js";
import { formatOf, prepareData, readRows, type PrepareOptions } from "../data/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import { parseAnswer, readPredictions } from "../eval/index.js";
import type { RunPlan } from "../recipe/index.js";
import { planForDataFile, predictWithEngine } from "./evaluate-checkpoint.js";
import { locateCheckpoint } from "./locate-checkpoint.js";

export interface PredictOptions extends PrepareOptions {
  in: string;
  out: string;
}

export interface PredictSummary {
  checkpoint: string;
  out: string;
  rows: number;
  /** Rows with no text to classify (left without a label in the output). */
  skipped: number;
  /** Predicted rows per label. */
  counts: Record<string, number>;
}

/** The hidden column that carries each input row's position through tokenization and back. */
const ROW = "__tune_row";
const OUT_FORMATS = new Set([".csv", ".tsv", ".jsonl", ".ndjson", ".json"]);

function userError(code: string, message: string, hint: string, file?: string): TuneError {
  return TuneError.single({ code, message, hint, ...(file ? { location: { file } } : {}) }, ExitCode.user);
}

/**
 * Labels new texts with a trained classifier, the way the reference systems' usage snippets do
 * without Python: rows in (CSV, JSONL, JSON or Parquet with the recipe's text column), the same
 * rows out with `label` and one probability per class (classifiers) or the raw `answer` and the
 * label parsed from it (generative classifiers). The checkpoint's own engine predicts, with the
 * run's template, length and generation settings.
 */
export async function predictFile(checkpointPath: string, options: PredictOptions): Promise<PredictSummary> {
  const located = locateCheckpoint(checkpointPath);
  const { plan } = located;
  if (!plan) throw userError("predict-needs-run", `${located.checkpoint} is not part of a tune run`, "Pass adapters/<run> or adapters/<run>/checkpoint-<step>: the run's plan says how texts are formatted.", located.checkpoint);
  if (located.problem) throw userError("checkpoint-invalid", `cannot predict with ${located.checkpoint}: ${located.problem}`, "Use another checkpoint of the run; `tune runs` lists them.", located.checkpoint);
  const labels = plan.data.labels;
  if (!labels || plan.task === "causal-lm") {
    throw userError("predict-not-classifier", `tune predict labels texts with a classifier, and ${plan.name} is a ${plan.task} run`, "Use a run whose task is sequence-classification, generative-classification or prompting.");
  }
  const input = resolve(options.in);
  const out = resolve(options.out);
  if (!OUT_FORMATS.has(extname(out).toLowerCase())) throw userError("predict-out-format", `cannot tell which format to write ${out} in`, "Name the output .csv, .tsv, .jsonl or .json.", "--out");

  const rows: Array<Record<string, unknown>> = [];
  for await (const row of readRows(input, formatOf(input, "auto"))) rows.push(row.values);
  const textColumn = plan.data.columns.text;
  if (rows.length > 0 && !rows.some((row) => textColumn in row)) {
    throw userError("predict-text-column", `${input} has no column "${textColumn}", the text column of ${plan.name}`, `Its columns are ${Object.keys(rows[0] ?? {}).join(", ")}; rename the text column to "${textColumn}".`, input);
  }

  const scratch = mkdtempSync(join(tmpdir(), "tune-predict-"));
  try {
    // The rows become the plan's test split; a stand-in gold label keeps the data pipeline's
    // label checks happy and is never read: predictions come from the text alone.
    const staged = join(scratch, "rows.jsonl");
    writeFileSync(staged, rows.map((row, i) => JSON.stringify({ ...row, [ROW]: String(i), [plan.data.columns.label]: labels[0] })).join("\n") + (rows.length > 0 ? "\n" : ""));
    const base = planForDataFile(plan, staged, "--in");
    // Every row keeps its place in the output, so none is dropped for an empty text here.
    const stagedPlan: RunPlan = { ...base, data: { ...base.data, format: "jsonl", columns: { ...base.data.columns, id: ROW }, clean: { ...base.data.clean, drop_empty: false } } };
    const prepared = await prepareData(stagedPlan, options);
    const written = await predictWithEngine(stagedPlan, prepared, located.checkpoint, ["test"], scratch);
    const predictions = new Map(readPredictions(written[0]?.file as string).map((p) => [p.id, p]));
    const rules = { ...plan.eval.parse, answerAfter: plan.generation.answer_after };
    const counts: Record<string, number> = {};
    const output = rows.map((row, i) => {
      const prediction = predictions.get(String(i));
      if (!prediction) return { ...row, label: null };
      const label = prediction.pred ?? parseAnswer(prediction.answer ?? "", labels, rules);
      counts[label] = (counts[label] ?? 0) + 1;
      return prediction.probs ? { ...row, label, probs: prediction.probs } : { ...row, label, answer: prediction.answer ?? "" };
    });
    writeOutput(out, output, labels);
    return { checkpoint: located.checkpoint, out, rows: rows.length, skipped: output.filter((row) => row.label === null).length, counts };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** CSV/TSV flatten the probabilities into one `p_<label>` column per class; JSON keeps them as an object. */
function writeOutput(file: string, rows: ReadonlyArray<Record<string, unknown>>, labels: readonly string[]): void {
  const extension = extname(file).toLowerCase();
  if (extension === ".jsonl" || extension === ".ndjson") {
    writeFileAtomic(file, rows.map((row) => JSON.stringify(row)).join("\n") + (rows.length > 0 ? "\n" : ""));
    return;
  }
  if (extension === ".json") {
    writeFileAtomic(file, `${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const withProbs = rows.some((row) => row.probs !== undefined);
  const flat = rows.map(({ probs, ...rest }) => (withProbs ? { ...rest, ...Object.fromEntries(labels.map((label) => [`p_${label}`, (probs as Record<string, number> | undefined)?.[label]])) } : rest));
  const columns = [...new Set(flat.flatMap((row) => Object.keys(row)))];
  const cell = (value: unknown) => (value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value));
  writeFileAtomic(file, stringify(flat.map((row) => columns.map((column) => cell((row as Record<string, unknown>)[column]))), { header: true, columns, delimiter: extension === ".tsv" ? "\t" : "," }));
}
