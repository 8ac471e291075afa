import { join, resolve } from "node:path";
import { makeFolders, writeFileAtomic } from "../files/index.js";
import type { PrepareOptions } from "../data/index.js";
import {
  classificationReport,
  compareDistributions,
  type ClassificationReport,
  type DistributionComparison,
} from "../eval/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import { resolvePlan, type RecipeOverrides } from "../recipe/index.js";
import { loadPipeline, type Pipeline } from "./load-pipeline.js";
import { classifierCheckpoint, predictRows, readInputRows, type Row, type RowPrediction } from "../predict/index.js";
import { runRecipe, type RunOptions, type RunResult } from "../run/index.js";

export interface StagedPrediction {
  /** The chain's answer: the last stage's label, or the label that stopped the row earlier. */
  label: string | null;
  /** Each stage's prediction, null for stages the row never reached. */
  stages: Array<RowPrediction | null>;
}

export interface PipelineStageRef {
  name: string;
  classifier: ReturnType<typeof classifierCheckpoint>;
  pass: string[];
}

/** The final labels a pipeline can give: each stage's labels that stop a row, then the last stage's. */
export function pipelineLabels(
  stages: ReadonlyArray<{ labels: readonly string[]; pass: readonly string[] }>,
): string[] {
  return [...new Set(stages.flatMap(({ labels, pass }) => labels.filter((label) => !pass.includes(label))))];
}

/**
 * Rows through the stages: every row is labelled by stage 1, and each later stage sees only the
 * rows the stage before it passed on (one of its `pass` labels), so a row stopped early keeps the
 * label that stopped it. Returns the rows each stage saw, for the report.
 */
export async function predictThroughStages(
  stages: readonly PipelineStageRef[],
  rows: readonly Row[],
  source: string,
  options: PrepareOptions & { textColumn?: string } = {},
): Promise<{ predictions: StagedPrediction[]; seen: number[] }> {
  const predictions: StagedPrediction[] = rows.map(() => ({ label: null, stages: stages.map(() => null) }));
  let active = rows.map((_, i) => i);
  const seen: number[] = [];
  for (const [index, stage] of stages.entries()) {
    seen.push(active.length);
    const { classifier } = stage;
    // Each stage reads the texts from its own recipe's text column.
    const input = active.map((i) =>
      options.textColumn
        ? { ...rows[i], [classifier.plan.data.columns.text]: rows[i]?.[options.textColumn] }
        : (rows[i] as Row),
    );
    const labelled = await predictRows(classifier, input, source, options);
    const next: number[] = [];
    active.forEach((row, k) => {
      const prediction = labelled[k] ?? null;
      const entry = predictions[row] as StagedPrediction;
      entry.stages[index] = prediction;
      if (!prediction) return;
      if (index < stages.length - 1 && stage.pass.includes(prediction.label)) next.push(row);
      else entry.label = prediction.label;
    });
    active = next;
  }
  return { predictions, seen };
}

/** The best checkpoint of every stage's run under `out`, as the pipeline's stages. */
export function pipelineStages(pipeline: Pipeline, out?: string): PipelineStageRef[] {
  return pipeline.stages.map(({ recipe, pass }) => {
    return { name: recipe.recipe.name, classifier: classifierCheckpoint(resolvePlan(recipe, { out }).run_dir), pass };
  });
}

export interface EndToEnd {
  file: string;
  examples: number;
  /** Rows each stage saw. */
  seen: number[];
  labels: string[];
  report: ClassificationReport;
  distribution: DistributionComparison;
  predictions: string;
}

export interface PipelineResult {
  pipeline: Pipeline;
  stages: RunResult[];
  endToEnd: EndToEnd | null;
  /** Every stage passed its gates. */
  passed: boolean;
}

/**
 * The end-to-end test file's rows and their final labels, each one a label the chain can give
 * (a stage's label that stops a row, or one of the last stage's).
 */
export async function readEndToEndTest(
  pipeline: Pipeline,
  test: NonNullable<Pipeline["test"]>,
): Promise<{ rows: Row[]; gold: string[]; labels: string[] }> {
  const rows = await readInputRows(test.file);
  const gold = rows.map((row, i) => {
    const value = row[test.label];
    if (value === undefined || value === null || String(value).trim() === "") {
      throw TuneError.single(
        {
          code: "pipeline-test-label",
          message: `row ${i + 1} of ${test.file} has no ${test.label}`,
          location: { file: test.file },
          field: "test.columns.label",
          hint: "Every end-to-end test row needs its final label.",
        },
        ExitCode.user,
      );
    }
    return String(value);
  });
  const labels = pipelineLabels(
    pipeline.stages.map((s) => ({ labels: s.recipe.recipe.data.labels ?? [], pass: s.pass })),
  );
  const unknown = gold.findIndex((label) => !labels.includes(label));
  if (unknown >= 0) {
    throw TuneError.single(
      {
        code: "pipeline-test-label",
        message: `row ${unknown + 1} of ${test.file} has the label "${gold[unknown]}", which no stage gives as a final answer`,
        location: { file: test.file },
        field: "test.columns.label",
        hint: `Final labels are ${labels.join(", ")}.`,
      },
      ExitCode.user,
    );
  }
  return { rows, gold, labels };
}

/**
 * Trains (or resumes) each stage's recipe in order, then judges the chain end to end on the
 * pipeline's test file: a row whose true label belongs to a later stage but that an earlier
 * stage stopped counts as wrong, so the report is what the layered classifier really achieves.
 */
export async function runPipeline(file: string, options: RunOptions = {}): Promise<PipelineResult> {
  const overrides: RecipeOverrides = { model: options.model, engine: options.engine, maxSteps: options.maxSteps };
  const pipeline = await loadPipeline(file, overrides);
  const stages: RunResult[] = [];
  for (const stage of pipeline.stages) {
    const result = await runRecipe(stage.recipe.file, options);
    stages.push(result);
    if (result.stopped) return { pipeline, stages, endToEnd: null, passed: false };
  }
  const passed = stages.every((s) => s.selection?.passed !== false);
  if (!pipeline.test) return { pipeline, stages, endToEnd: null, passed };

  const refs = pipelineStages(pipeline, options.out);
  const { rows, gold, labels } = await readEndToEndTest(pipeline, pipeline.test);
  const { predictions, seen } = await predictThroughStages(refs, rows, pipeline.test.file, {
    ...options,
    textColumn: pipeline.test.text,
  });
  const predicted = predictions.map((p) => p.label ?? "error");
  const dir = join(resolve(options.out ?? "adapters"), pipeline.name);
  makeFolders(dir);
  const predictionsFile = join(dir, "end-to-end.jsonl");
  writeFileAtomic(
    predictionsFile,
    `${predictions.map((p, i) => JSON.stringify({ row: i + 1, gold: gold[i], pred: predicted[i], stages: Object.fromEntries(refs.map((ref, k) => [ref.name, p.stages[k]])) })).join("\n")}\n`,
  );
  const report = classificationReport(gold, predicted, labels);
  const distribution = compareDistributions(gold, predicted, labels);
  const endToEnd: EndToEnd = {
    file: pipeline.test.file,
    examples: rows.length,
    seen,
    labels,
    report,
    distribution,
    predictions: predictionsFile,
  };
  writeFileAtomic(
    join(dir, "end-to-end.json"),
    `${JSON.stringify({ ...endToEnd, stages: refs.map((ref) => ({ name: ref.name, checkpoint: ref.classifier.checkpoint, pass: ref.pass })) }, null, 2)}\n`,
  );
  return { pipeline, stages, endToEnd, passed };
}
