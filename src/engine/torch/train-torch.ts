import { rmSync } from "node:fs";
import { join } from "node:path";
import { makeFolders, writeFileAtomic } from "../../files/index.js";
import { readDatasetSplit, type PreparedData } from "../../data/index.js";
import { ExitCode, TuneError } from "../../errors/index.js";
import { processesPerNode, type CompletePlan, type RunPlan, type SplitName } from "../../recipe/index.js";
import { epochBatches } from "../batches.js";
import type { ClusterNode, SplitPredictions, TrainOptions, TrainResult } from "../engine.js";
import type { TrainEvent } from "../events.js";
import { writeInitialAdapter } from "../initial-adapter.js";
import { refusedInput, runBridge, type BridgeEvent, type BridgeRun } from "./bridge-process.js";

const PASSED_THROUGH = new Set(["start", "step", "checkpoint", "predictions", "resume", "stopped", "end", "warning"]);

/** The run's own plan.json, written before training: the worker reads it, not a copy (a node other than 0 writes its own, in `workDir`). */
function planFile(plan: RunPlan, workDir?: string): string {
  return join(workDir ?? plan.run_dir, "plan.json");
}

/**
 * The torch engine: python-bridge trains with PyTorch, transformers and PEFT while this side
 * stays in charge. It writes each epoch's micro-batches, in the same seeded order the tfjs
 * engine uses, and the initial adapter where tune describes the model family, so both engines
 * start from the same weights and see the same batches; then it relays the worker's events.
 */
export async function trainTorch(
  plan: CompletePlan,
  modelDir: string,
  prepared: PreparedData,
  options: TrainOptions,
): Promise<TrainResult> {
  const trainDir = prepared.splits.train?.dir;
  if (!trainDir)
    throw TuneError.single(
      { code: "torch-no-train", message: "the data has no train split", hint: "Give the recipe training data." },
      ExitCode.user,
    );
  const { schedule } = plan;
  const work = options.workDir ?? join(plan.run_dir, ".torch");
  makeFolders(work);
  writeFileAtomic(join(work, "batches.json"), JSON.stringify(epochsOfBatches(plan, trainDir)));
  let init: string | null = null;
  if (!options.resumeFrom) {
    rmSync(join(work, "init"), { recursive: true, force: true });
    init = writeInitialAdapter(plan, modelDir, join(work, "init"));
  }
  const args = [
    "train",
    "--plan",
    planFile(plan, options.workDir),
    "--model-dir",
    modelDir,
    "--batches",
    join(work, "batches.json"),
    "--provenance",
    JSON.stringify(options.provenance ?? {}),
  ];
  if (options.resumeFrom) args.push("--resume", options.resumeFrom);
  if (init) args.push("--init", init);
  let last = { checkpoint: options.resumeFrom ?? "", step: 0, stopped: false };
  const run = await runBridge(args, {
    processes: processesPerNode(plan.distributed),
    node: options.node,
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
          total: schedule.total_steps,
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
  if (run.exitCode !== 0 || run.error) throw crash(run, last.checkpoint, options.node);
  return last;
}

/** The worker's predictions of `splits` by a checkpoint, into `outDir`/predictions/. */
export async function predictTorch(
  plan: RunPlan,
  modelDir: string,
  prepared: PreparedData,
  checkpoint: string,
  splits: readonly SplitName[],
  outDir: string,
): Promise<SplitPredictions[]> {
  const present = splits.flatMap((split) => {
    const dir = prepared.splits[split]?.dir;
    return dir ? ["--split", `${split}=${dir}`] : [];
  });
  const args = ["predict", "--plan", planFile(plan), "--model-dir", modelDir, "--checkpoint", checkpoint];
  const run = await runBridge([...args, ...present, "--out-dir", outDir]);
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
 * Every epoch's micro-batches of train-split indices, dealt in groups of micro_batches_per_step
 * (accumulation x processes; the worker gives each rank its share of a group). Exported so
 * scripts/gpu-e2e hands the worker the very order a run would.
 */
export function epochsOfBatches(plan: CompletePlan, trainDir: string): number[][][] {
  const train = readDatasetSplit(trainDir);
  const { batch_size: batchSize, seed, group_by_length: grouped } = plan.training;
  const { total_steps: total, steps_per_epoch: perEpoch, micro_batches_per_step: group } = plan.schedule;
  return Array.from({ length: Math.ceil(total / perEpoch) }, (_, epoch) =>
    epochBatches(train, batchSize, seed, epoch, grouped, group),
  );
}

/** The bridge failed: its own message and the traceback's tail, or stderr's, and the last good checkpoint. */
function crash(run: BridgeRun, lastGood: string, node?: ClusterNode): TuneError {
  if (run.error?.code === "node-lost")
    return TuneError.single(
      {
        code: "node-lost",
        message: `${node ? `node ${node.rank} of ${node.nodes}: ` : ""}${run.error.message}`,
        hint: `${run.error.hint ?? ""}${lastGood ? ` The last complete checkpoint is ${lastGood}.` : ""}`,
      },
      ExitCode.environment,
    );
  const refused = refusedInput(run);
  if (refused) return refused;
  const detail = run.error
    ? `${run.error.message}\n${run.error.traceback}`
    : run.stderrTail || `exit code ${run.exitCode}`;
  return TuneError.single(
    {
      code: "torch-engine-failed",
      message: `${node ? `node ${node.rank} of ${node.nodes}: ` : ""}the torch engine stopped with an error: ${run.error?.message ?? `exit code ${run.exitCode}`}\n${detail.trim().split("\n").slice(-12).join("\n")}`,
      hint: lastGood
        ? `The last complete checkpoint is ${lastGood}; fix the cause and run the same command again to resume.`
        : node
          ? "Fix the cause (the other nodes' output names the node that failed first) and run the same command again on every node."
          : "Fix the cause and run the same command again.",
    },
    ExitCode.unexpected,
  );
}
