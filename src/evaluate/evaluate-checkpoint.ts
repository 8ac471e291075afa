import { existsSync } from "node:fs";
import { basename, extname, join, resolve, sep } from "node:path";
import { adapterProblem } from "../adapter/index.js";
import { checkpointEngine } from "../checkpoint/index.js";
import { prepareData, runFewShotBlock, type PrepareOptions, type PreparedData } from "../data/index.js";
import { engineFor, type EngineName, type SplitPredictions } from "../engine/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import { evaluatePredictions, type SplitEvaluation } from "../eval/index.js";
import { locateModel, type ModelOptions } from "../model/index.js";
import { SPLITS, type RunPlan, type SplitName } from "../recipe/index.js";
import { evaluateCheckpointSplit } from "./evaluate-checkpoint-split.js";
import { acquireRunLock } from "../runs/index.js";
import { openTarget, targetEngine, type Target, type TargetOptions } from "../target/index.js";
import { writeFileAtomic } from "../files/index.js";

export interface CheckpointEvaluation {
  plan: RunPlan;
  checkpoint: string;
  /** Where the predictions and metrics.json went: the checkpoint, or for an adapter from elsewhere a folder of tune's. */
  out: string;
  evaluations: Array<SplitEvaluation & { predictions: string }>;
}

export interface EvaluateOptions
  extends PrepareOptions, ModelOptions, Pick<TargetOptions, "recipe" | "base" | "revision"> {
  /** One split of the run's data instead of the recipe's eval splits. */
  split?: string;
  /** A data file (the recipe's columns and template) evaluated instead of the run's splits. */
  data?: string;
  /** For an adapter from elsewhere: the folder its predictions and metrics go to (default adapters/<name>-eval). */
  out?: string;
}

/**
 * Evaluates any checkpoint of a run after the fact, or an adapter from elsewhere with a recipe's
 * data: checks it (manifest, adapter fits the plan and base model, finite values, a classifier's
 * head), has the engine write predictions, and judges them. A run's own splits are recorded in
 * the checkpoint's metrics.json; a `data` file is judged apart, its predictions written under the
 * checkpoint's data-eval/ folder. An adapter from elsewhere is never written to: its predictions,
 * metrics.json and the plan it was judged with go to `out`.
 */
export async function evaluateCheckpoint(
  checkpointPath: string,
  options: EvaluateOptions = {},
): Promise<CheckpointEvaluation> {
  const target = await openTarget(checkpointPath, { ...options, purpose: "evaluate" });
  const runPlan = target.plan as RunPlan;
  const record = target.foreign ? foreignOut(target, runPlan) : target.checkpoint;
  const plan = options.data ? planForDataFile(runPlan, resolve(options.data)) : runPlan;
  const splits = options.data ? (["test"] as SplitName[]) : requestedSplits(runPlan, options.split);
  // Predictions and metrics.json go into the checkpoint: not while a training run may delete it.
  const lock = acquireRunLock(runPlan.run_dir, "command");
  try {
    if (target.foreign)
      writeFileAtomic(
        join(record, "plan.json"),
        `${JSON.stringify({ ...runPlan, adapter: target.foreign }, null, 2)}\n`,
      );
    return await evaluateLocked({ ...target, plan: runPlan }, { runPlan, plan, splits, record }, options);
  } finally {
    lock.release();
  }
}

/** Where an adapter from elsewhere's results go: a folder of tune's, never the adapter's own nor the Hub cache. */
function foreignOut(target: Target, plan: RunPlan): string {
  const out = plan.run_dir;
  const inside = (dir: string) => out === dir || out.startsWith(`${dir}${sep}`);
  if (inside(target.checkpoint))
    throw TuneError.single(
      {
        code: "eval-out-inside-adapter",
        message: `${out} is inside the adapter's folder ${target.checkpoint}, which tune does not write to`,
        location: { file: "--out" },
        hint: "Choose an --out folder elsewhere.",
      },
      ExitCode.user,
    );
  return out;
}

async function evaluateLocked(
  target: Target & { plan: RunPlan },
  { runPlan, plan, splits, record }: { runPlan: RunPlan; plan: RunPlan; splits: SplitName[]; record: string },
  options: EvaluateOptions,
): Promise<CheckpointEvaluation> {
  const { checkpoint } = target;
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
        hint: target.foreign
          ? "The adapter does not fit the recipe or the base model: check --recipe (its task and labels) and --base."
          : "The checkpoint does not belong to this run's plan or base model.",
      },
      ExitCode.user,
    );
  const outDir = options.data ? join(record, "data-eval", basename(options.data, extname(options.data))) : record;
  const engine = await targetEngine(target);
  const written = await predictWithEngine(plan, model.dir, prepared, checkpoint, splits, outDir, engine);
  const evaluations = written.map(({ split, file }) => ({
    ...(options.data ? evaluatePredictions(plan, split, file) : evaluateCheckpointSplit(plan, record, split, file)),
    predictions: file,
  }));
  return { plan, checkpoint, out: outDir, evaluations };
}

/** Predictions for splits of prepared data, by the engine that wrote the checkpoint (checkpointEngine) unless told. */
export async function predictWithEngine(
  plan: RunPlan,
  modelDir: string,
  prepared: PreparedData,
  checkpoint: string,
  splits: SplitName[],
  outDir: string,
  engine: EngineName = checkpointEngine(checkpoint),
): Promise<SplitPredictions[]> {
  return (await engineFor(engine)).predict(plan, modelDir, prepared, checkpoint, splits, outDir);
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
