import { rmSync } from "node:fs";
import { join } from "node:path";
import { makeFolders, writeFileAtomic } from "../../files/index.js";
import { readDatasetSplit, type PreparedData } from "../../data/index.js";
import { ExitCode, TuneError } from "../../errors/index.js";
import type { RunPlan, SplitName } from "../../recipe/index.js";
import { epochBatches } from "../batches.js";
import { selectBackend, writeInitialAdapter, type TrainEvent, type TrainOptions } from "../tfjs/index.js";
import { refusedInput, runBridge, type BridgeEvent, type BridgeRun } from "./bridge-process.js";

export interface TorchTrainResult {
  checkpoint: string;
  step: number;
  stopped: boolean;
}

const PASSED_THROUGH = new Set(["start", "step", "checkpoint", "predictions", "resume", "stopped", "end", "warning"]);

/**
 * The torch engine: python-bridge trains with PyTorch, transformers and PEFT while this side
 * stays in charge. It writes the run's schedule (total and warmup steps, checkpoint interval,
 * and each epoch's micro-batches from the same seeded order the tfjs engine uses) and the
 * tfjs engine's initial adapter where the model family allows, so both engines start from the
 * same weights and see the same batches; then it relays the bridge's events.
 */
export async function trainTorch(
  plan: RunPlan,
  prepared: PreparedData,
  options: TrainOptions,
): Promise<TorchTrainResult> {
  const trainDir = prepared.splits.train?.dir;
  if (!trainDir)
    throw TuneError.single(
      { code: "torch-no-train", message: "the data has no train split", hint: "Give the recipe training data." },
      ExitCode.user,
    );
  const modelDir = prepared.tokenizerDir;
  const distributed = plan.distributed;
  if (distributed && distributed.strategy !== "ddp") {
    throw TuneError.single(
      {
        code: "distributed-unavailable",
        message: `distributed strategy ${distributed.strategy} is not available in this version of tune`,
        hint: "Use `strategy: ddp` (one full copy of the frozen base per process), or train in one process.",
      },
      ExitCode.environment,
    );
  }
  const work = join(plan.run_dir, ".torch");
  makeFolders(work);
  const schedule = trainingSchedule(plan, trainDir);
  writeFileAtomic(join(work, "schedule.json"), JSON.stringify(schedule));
  writeFileAtomic(join(work, "plan.json"), JSON.stringify(plan));
  let init: string | null = null;
  if (!options.resumeFrom) {
    await selectBackend("cpu");
    rmSync(join(work, "init"), { recursive: true, force: true });
    init = writeInitialAdapter(plan, modelDir, join(work, "init"));
  }
  const args = [
    "train",
    "--plan",
    join(work, "plan.json"),
    "--model-dir",
    modelDir,
    "--schedule",
    join(work, "schedule.json"),
    "--provenance",
    JSON.stringify(options.provenance ?? {}),
  ];
  if (options.resumeFrom) args.push("--resume", options.resumeFrom);
  if (init) args.push("--init", init);
  let last = { checkpoint: options.resumeFrom ?? "", step: 0, stopped: false };
  const run = await runBridge(args, {
    processes: distributed?.processes ?? 1,
    shouldStop: options.shouldStop,
    onEvent: (event) => {
      if (event.type === "checkpoint") last = { ...last, checkpoint: String(event.dir), step: Number(event.step) };
      if (event.type === "stopped") last = { ...last, stopped: true, step: Number(event.step) };
      if (event.type === "end") last = { ...last, step: Number(event.step), checkpoint: String(event.checkpoint) };
      if (event.type === "step") {
        const step = Number(event.step);
        const perEpoch = schedule.steps_per_epoch;
        options.onStep?.({
          step,
          total: schedule.total,
          epoch: Math.floor((step - 1) / perEpoch),
          stepInEpoch: ((step - 1) % perEpoch) + 1,
          stepsPerEpoch: perEpoch,
          loss: Number(event.loss),
          lr: Number(event.lr),
          tokensPerSecond: Number(event.tokens_per_s),
        });
      }
      if (PASSED_THROUGH.has(event.type)) options.emit(event as unknown as TrainEvent);
    },
  });
  if (run.exitCode !== 0 || run.error) throw crash(run, last.checkpoint);
  return last;
}

/** The bridge's predictions of `splits` for a checkpoint (the torch half of `tune eval`). */
export async function predictTorch(
  plan: RunPlan,
  prepared: PreparedData,
  checkpoint: string,
  splits: readonly SplitName[],
  outDir?: string,
): Promise<Array<{ split: SplitName; file: string; examples: number; loss: number }>> {
  const work = join(plan.run_dir, ".torch");
  makeFolders(work);
  writeFileAtomic(join(work, "predict-plan.json"), JSON.stringify(plan));
  const args = [
    "predict",
    "--plan",
    join(work, "predict-plan.json"),
    "--model-dir",
    prepared.tokenizerDir,
    "--checkpoint",
    checkpoint,
    ...splits.flatMap((s) => ["--split", s]),
  ];
  if (outDir) args.push("--out-dir", outDir);
  const run = await runBridge(args);
  if (run.exitCode !== 0 || run.error) throw crash(run, checkpoint);
  return run.events
    .filter((e: BridgeEvent) => e.type === "predictions")
    .map((e) => ({
      split: e.split as SplitName,
      file: String(e.file),
      examples: Number(e.examples),
      loss: Number(e.loss),
    }));
}

/**
 * total and warmup steps, checkpoint interval and every epoch's micro-batches: the schedule both
 * engines follow. With several processes an optimizer step takes accumulation x processes
 * micro-batches (batch_size is per process, as in the Trainer), dealt out across the ranks.
 */
function trainingSchedule(plan: RunPlan, trainDir: string) {
  const train = readDatasetSplit(trainDir);
  const { batch_size: batchSize, seed, group_by_length: grouped } = plan.training;
  const processes = plan.distributed?.processes ?? 1;
  const accumulation = plan.training.gradient_accumulation * processes;
  const stepsPerEpoch = Math.ceil(Math.ceil(train.manifest.count / batchSize) / accumulation);
  const total = plan.training.max_steps ?? Math.ceil((plan.training.epochs ?? 1) * stepsPerEpoch);
  const warmup = plan.training.warmup_steps ?? Math.ceil((plan.training.warmup_ratio ?? 0) * total);
  const epochs = Array.from({ length: Math.ceil(total / stepsPerEpoch) }, (_, epoch) =>
    epochBatches(train, batchSize, seed, epoch, grouped, accumulation),
  );
  return {
    total,
    warmup,
    checkpoint_every: plan.checkpoints.every === "epoch" ? stepsPerEpoch : plan.checkpoints.every,
    steps_per_epoch: stepsPerEpoch,
    group: accumulation,
    epochs,
  };
}

/** The bridge failed: its own message and the traceback's tail, or stderr's, and the last good checkpoint. */
function crash(run: BridgeRun, lastGood: string): TuneError {
  const refused = refusedInput(run);
  if (refused) return refused;
  const detail = run.error
    ? `${run.error.message}\n${run.error.traceback}`
    : run.stderrTail || `exit code ${run.exitCode}`;
  return TuneError.single(
    {
      code: "torch-engine-failed",
      message: `the torch engine stopped with an error: ${run.error?.message ?? `exit code ${run.exitCode}`}\n${detail.trim().split("\n").slice(-12).join("\n")}`,
      hint: lastGood
        ? `The last complete checkpoint is ${lastGood}; fix the cause and run the same command again to resume.`
        : "Fix the cause and run the same command again.",
    },
    ExitCode.unexpected,
  );
}
