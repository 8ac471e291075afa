import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { stringify } from "csv-stringify/sync";
import { writeFileAtomic } from "../files/index.js";
import { formatOf, prepareData, readRows, runFewShotBlock, type PrepareOptions } from "../data/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import { parseAnswer, readPredictions } from "../eval/index.js";
import { locateModel, type ModelOptions } from "../model/index.js";
import type { RunPlan } from "../recipe/index.js";
import { planForDataFile, predictWithEngine } from "../evaluate/index.js";
import { locateCheckpoint, type LocatedCheckpoint } from "../runs/index.js";
import { adapterProblem } from "../adapter/index.js";
import type { EngineName } from "../engine/index.js";
import { openTarget, targetEngine, type ForeignAdapter, type TargetOptions } from "../target/index.js";

export interface PredictOptions
  extends PrepareOptions, ModelOptions, Pick<TargetOptions, "recipe" | "base" | "revision"> {
  in: string;
  out: string;
}

/** A classifier checkpoint (or adapter from elsewhere, with its recipe's plan) fit to label new texts. */
export type Classifier = LocatedCheckpoint & {
  plan: RunPlan;
  labels: string[];
  /** Set for an adapter from elsewhere: the engine that runs it (a run's checkpoint is its own engine's). */
  engine?: EngineName;
  foreign?: ForeignAdapter | null;
};

export interface PredictSummary {
  checkpoint: string;
  out: string;
  rows: number;
  /** Rows with no text to classify (left without a label in the output). */
  skipped: number;
  /** Predicted rows per label. */
  counts: Record<string, number>;
}

/** One row's prediction: the label, and the class probabilities or the generated answer it came from. */
export interface RowPrediction {
  label: string;
  probs?: Record<string, number>;
  answer?: string;
}

export type Row = Record<string, unknown>;

/** The hidden column that carries each input row's position through tokenization and back. */
const ROW = "__tune_row";
const OUT_FORMATS = new Set([".csv", ".tsv", ".jsonl", ".ndjson", ".json"]);

function userError(code: string, message: string, hint: string, file?: string): TuneError {
  return TuneError.single({ code, message, hint, ...(file ? { location: { file } } : {}) }, ExitCode.user);
}

/** A checkpoint of a classifier run, checked fit to label new texts. */
export function classifierCheckpoint(path: string): Classifier {
  return asClassifier(locateCheckpoint(path));
}

/** What `tune predict` was pointed at (a run, a checkpoint, or an adapter from elsewhere with --recipe), checked fit to label new texts. */
export async function classifierTarget(
  path: string,
  options: Pick<PredictOptions, "recipe" | "base" | "revision" | "onDownload">,
): Promise<Classifier> {
  const target = await openTarget(path, { ...options, purpose: "evaluate" });
  const classifier = asClassifier(target);
  return target.foreign
    ? { ...classifier, engine: await targetEngine({ ...classifier, foreign: target.foreign }), foreign: target.foreign }
    : classifier;
}

function asClassifier(located: LocatedCheckpoint): Classifier {
  const { plan } = located;
  if (!plan)
    throw userError(
      "predict-needs-run",
      `${located.checkpoint} is not part of a tune run`,
      "Pass adapters/<run> or adapters/<run>/checkpoint-<step>: the run's plan says how texts are formatted.",
      located.checkpoint,
    );
  const labels = plan.data.labels;
  if (!labels || plan.task === "causal-lm") {
    throw userError(
      "predict-not-classifier",
      `tune predict labels texts with a classifier, and ${plan.name} is a ${plan.task} run`,
      "Use a run whose task is sequence-classification, generative-classification or prompting.",
    );
  }
  return { ...located, plan, labels };
}

export async function readInputRows(file: string): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const row of readRows(file, formatOf(file, "auto"))) rows.push(row.values);
  return rows;
}

/**
 * Labels rows with a classifier checkpoint: the rows become the run's test split (its template,
 * length and cleaning, except that no row is dropped), the engine that trained the checkpoint
 * predicts, and generated answers are parsed into the label set. Aligned with `rows`.
 */
export async function predictRows(
  classifier: Classifier,
  rows: readonly Row[],
  source: string,
  options: PrepareOptions & ModelOptions = {},
): Promise<Array<RowPrediction | null>> {
  const { plan, labels } = classifier;
  const textColumn = plan.data.columns.text;
  if (rows.length > 0 && !rows.some((row) => textColumn in row)) {
    throw userError(
      "predict-text-column",
      `${source} has no column "${textColumn}", the text column of ${plan.name}`,
      `Its columns are ${Object.keys(rows[0] ?? {}).join(", ")}; rename the text column to "${textColumn}".`,
      source,
    );
  }
  if (rows.length === 0) return [];
  const scratch = mkdtempSync(join(tmpdir(), "tune-predict-"));
  try {
    // A stand-in gold label keeps the data pipeline's label checks happy and is never read:
    // predictions come from the text alone.
    const staged = join(scratch, "rows.jsonl");
    writeFileSync(
      staged,
      `${rows.map((row, i) => JSON.stringify({ ...row, [ROW]: String(i), [plan.data.columns.label]: labels[0] })).join("\n")}\n`,
    );
    const base = planForDataFile(plan, staged, "--in");
    const stagedPlan: RunPlan = {
      ...base,
      // An adapter from elsewhere has no run folder: the torch worker reads this plan from the scratch folder.
      run_dir: classifier.foreign ? scratch : base.run_dir,
      data: {
        ...base.data,
        format: "jsonl",
        columns: { ...base.data.columns, id: ROW },
        clean: { ...base.data.clean, drop_empty: false },
      },
    };
    // A few-shot run's prompts carry the block drawn from its own train split, new texts included.
    const model = await locateModel(stagedPlan, options);
    const prepared = await prepareData(stagedPlan, model, { ...options, fewShot: await runFewShotBlock(plan) });
    if (classifier.foreign) {
      const unfit = adapterProblem(stagedPlan, classifier.checkpoint, model.dir);
      if (unfit)
        throw userError(
          "checkpoint-invalid",
          `cannot predict with ${classifier.checkpoint}: ${unfit}`,
          "The adapter does not fit the recipe or the base model: check --recipe (its task and labels) and --base.",
          classifier.checkpoint,
        );
      writeFileSync(join(scratch, "plan.json"), JSON.stringify(stagedPlan));
    }
    const written = await predictWithEngine(
      stagedPlan,
      model.dir,
      prepared,
      classifier.checkpoint,
      ["test"],
      scratch,
      classifier.engine,
    );
    const predictions = new Map(readPredictions(written[0]?.file as string).map((p) => [p.id, p]));
    const rules = { ...plan.eval.parse, answerAfter: plan.generation.answer_after };
    return rows.map((_, i) => {
      const prediction = predictions.get(String(i));
      if (!prediction) return null;
      const label = prediction.pred ?? parseAnswer(prediction.answer ?? "", labels, rules);
      return prediction.probs ? { label, probs: prediction.probs } : { label, answer: prediction.answer ?? "" };
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** --out is checked before any work: a format tune writes, in a folder that exists. */
export function checkOutputFile(out: string): void {
  if (!OUT_FORMATS.has(extname(out).toLowerCase()))
    throw userError(
      "predict-out-format",
      `cannot tell which format to write ${out} in`,
      "Name the output .csv, .tsv, .jsonl or .json.",
      "--out",
    );
  if (!statSync(dirname(out), { throwIfNoEntry: false })?.isDirectory())
    throw userError(
      "predict-out-folder",
      `the folder of ${out} does not exist`,
      `Create ${dirname(out)} first, or write the output elsewhere.`,
      "--out",
    );
  if (statSync(out, { throwIfNoEntry: false })?.isDirectory())
    throw userError("predict-out-folder", `${out} is a folder`, "Name the output file, e.g. predictions.csv.", "--out");
}

/**
 * Labels new texts with a trained classifier, the way the reference systems' usage snippets do
 * without Python: rows in (CSV, JSONL, JSON or Parquet with the recipe's text column), the same
 * rows out with `label` and one probability per class (classifiers) or the raw `answer` and the
 * label parsed from it (generative classifiers).
 */
export async function predictFile(checkpointPath: string, options: PredictOptions): Promise<PredictSummary> {
  const { recipe, base, revision, onDownload } = options;
  const classifier = await classifierTarget(checkpointPath, { recipe, base, revision, onDownload });
  const input = resolve(options.in);
  const out = resolve(options.out);
  checkOutputFile(out);
  const rows = await readInputRows(input);
  const predictions = await predictRows(classifier, rows, input, options);
  const counts: Record<string, number> = {};
  const output = rows.map((row, i) => {
    const prediction = predictions[i];
    if (!prediction) return { ...row, label: null };
    counts[prediction.label] = (counts[prediction.label] ?? 0) + 1;
    return { ...row, ...prediction };
  });
  writeOutput(out, output);
  return {
    checkpoint: classifier.checkpoint,
    out,
    rows: rows.length,
    skipped: output.filter((row) => row.label === null).length,
    counts,
  };
}

/**
 * CSV/TSV flatten every probability object (`probs`, or `<stage>.probs`) into one `p_<label>`
 * column per class, prefixed like the object; JSON keeps objects as they are.
 */
export function writeOutput(file: string, rows: readonly Row[]): void {
  const extension = extname(file).toLowerCase();
  if (extension === ".jsonl" || extension === ".ndjson") {
    writeFileAtomic(file, rows.map((row) => JSON.stringify(row)).join("\n") + (rows.length > 0 ? "\n" : ""));
    return;
  }
  if (extension === ".json") {
    writeFileAtomic(file, `${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const flatten = ([key, value]: [string, unknown]): Array<[string, unknown]> => {
    if (!key.endsWith("probs")) return [[key, value]];
    if (value === null || typeof value !== "object") return [];
    return Object.entries(value as Record<string, number>).map(([label, p]) => [
      `${key.slice(0, -"probs".length)}p_${label}`,
      p,
    ]);
  };
  const flat = rows.map((row) => Object.fromEntries(Object.entries(row).flatMap(flatten)));
  const columns = [...new Set(flat.flatMap((row) => Object.keys(row)))];
  const cell = (value: unknown) =>
    value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
  writeFileAtomic(
    file,
    stringify(
      flat.map((row) => columns.map((column) => cell(row[column]))),
      { header: true, columns, delimiter: extension === ".tsv" ? "\t" : "," },
    ),
  );
}
