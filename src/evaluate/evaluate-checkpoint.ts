import { existsSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import { adapterProblem } from "../adapter/index.js";
import { checkpointEngine } from "../checkpoint/index.js";
import { prepareData, runFewShotBlock, type PrepareOptions, type PreparedData } from "../data/index.js";
import { engineFor, type SplitPredictions } from "../engine/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import { evaluatePredictions, type SplitEvaluation } from "../eval/index.js";
import { locateModel, type ModelOptions } from "../model/index.js";
import { SPLITS, type RunPlan, type SplitName } from "../recipe/index.js";
import { evaluateCheckpointSplit } from "./evaluate-checkpoint-split.js";
import { locateCheckpoint } from "../runs/index.js";
import { acquireRunLock } from "../runs/index.js";

export interface CheckpointEvaluation {
  plan: RunPlan;
  checkpoint: string;
  evaluations: Array<SplitEvaluation & { predictions: string }>;
}

export interface EvaluateOptions extends PrepareOptions, ModelOptions {
  /** One split of the run's data instead of the recipe's eval splits. */
  split?: string;
  /** A data file (the recipe's columns and template) evaluated instead of the run's splits. */
  data?: string;
}

/**
 * Evaluates any checkpoint of a run after the fact: checks it (manifest, adapter fits the plan
 * and base model, finite values), has the engine write predictions, and judges them. The run's
 * own splits are recorded in the checkpoint's metrics.json; a `data` file is judged apart, its
 * predictions written under the checkpoint's data-eval/ folder.
 */
export async function evaluateCheckpoint(
  checkpointPath: string,
  options: EvaluateOptions = {},
): Promise<CheckpointEvaluation> {
  const { checkpoint, plan: runPlan } = locateCheckpoint(checkpointPath);
  if (!runPlan) {
    throw TuneError.single(
      {
        code: "checkpoint-not-in-run",
        message: `${checkpoint} is not a checkpoint folder of a run (no plan.json beside it)`,
        location: { file: checkpoint },
        hint: "Pass adapters/<run>/checkpoint-<step>: the run's plan says which data and metrics to use.",
      },
      ExitCode.user,
    );
  }
  const plan = options.data ? planForDataFile(runPlan, resolve(options.data)) : runPlan;
  const splits = options.data ? (["test"] as SplitName[]) : requestedSplits(runPlan, options.split);
  // Predictions and metrics.json go into the checkpoint: not while a training run may delete it.
  const lock = acquireRunLock(runPlan.run_dir, "command");
  try {
    return await evaluateLocked(checkpoint, runPlan, plan, splits, options);
  } finally {
    lock.release();
  }
}

async function evaluateLocked(
  checkpoint: string,
  runPlan: RunPlan,
  plan: RunPlan,
  splits: SplitName[],
  options: EvaluateOptions,
): Promise<CheckpointEvaluation> {
  const model = await locateModel(plan, options);
  const prepared = await prepareData(
    plan,
    model,
    options.data ? { ...options, fewShot: await runFewShotBlock(runPlan) } : options,
  );
  const unfit = adapterProblem(plan, checkpoint, model.dir);
  if (unfit)
    throw TuneError.single(
      {
        code: "checkpoint-invalid",
        message: `cannot evaluate ${checkpoint}: ${unfit}`,
        location: { file: checkpoint },
        hint: "The checkpoint does not belong to this run's plan or base model.",
      },
      ExitCode.user,
    );
  const outDir = options.data
    ? join(checkpoint, "data-eval", basename(options.data, extname(options.data)))
    : checkpoint;
  const written = await predictWithEngine(plan, model.dir, prepared, checkpoint, splits, outDir);
  const evaluations = written.map(({ split, file }) => ({
    ...(options.data ? evaluatePredictions(plan, split, file) : evaluateCheckpointSplit(plan, checkpoint, split, file)),
    predictions: file,
  }));
  return { plan, checkpoint, evaluations };
}

/** Predictions for splits of prepared data, by the engine that wrote the checkpoint (checkpointEngine). */
export async function predictWithEngine(
  plan: RunPlan,
  modelDir: string,
  prepared: PreparedData,
  checkpoint: string,
  splits: SplitName[],
  outDir: string,
): Promise<SplitPredictions[]> {
  const engine = await engineFor(checkpointEngine(checkpoint));
  return engine.predict(plan, modelDir, prepared, checkpoint, splits, outDir);
}

function requestedSplits(plan: RunPlan, split: string | undefined): SplitName[] {
  if (split === undefined) return plan.eval.splits;
  if (!(SPLITS as readonly string[]).includes(split) || !plan.data.splits.includes(split as SplitName)) {
    throw TuneError.single(
      {
        code: "split-unknown",
        message: `the run has no ${split} split`,
        location: { file: "--split" },
        hint: `Use one of: ${plan.data.splits.join(", ")}.`,
      },
      ExitCode.user,
    );
  }
  return [split as SplitName];
}

/** The run's plan reading one file as its test split: same columns, labels, template and length. */
export function planForDataFile(plan: RunPlan, file: string, flag = "--data"): RunPlan {
  if (!existsSync(file))
    throw TuneError.single(
      {
        code: "data-missing",
        message: `no such file: ${file}`,
        location: { file: flag },
        hint: "Pass a CSV, JSONL, JSON or Parquet file with the recipe's columns.",
      },
      ExitCode.user,
    );
  return {
    ...plan,
    data: {
      ...plan.data,
      file: null,
      train: null,
      eval: null,
      test: file,
      sample: null,
      balance: "none",
      splits: ["test"],
      manifests: null,
    },
  };
}
