import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { checkpointProblem, findCheckpoints } from "../checkpoint/index.js";
import { judgeGates, type CheckpointMetrics, type GateResult } from "../eval/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import type { RunPlan } from "../recipe/index.js";
import { checkpointMetrics } from "./checkpoint-metrics.js";

export interface LocatedCheckpoint {
  /** The adapter folder. */
  checkpoint: string;
  step: number | null;
  /** The run it belongs to, when it belongs to one. */
  runDir: string | null;
  plan: RunPlan | null;
  metrics: CheckpointMetrics | null;
  /** The recipe's gates judged on this checkpoint. */
  gates: GateResult[];
  /** Why the checkpoint is not sound (incomplete, damaged), or null. */
  problem: string | null;
}

/**
 * What `tune merge` and `tune push` act on: a checkpoint folder of a run, a run folder (its best
 * checkpoint, else its newest complete one), or a bare PEFT adapter folder from elsewhere.
 */
export function locateCheckpoint(path: string): LocatedCheckpoint {
  const target = resolve(path);
  if (!existsSync(target)) throw TuneError.single({ code: "checkpoint-missing", message: `${target} does not exist`, location: { file: target }, hint: "Pass adapters/<run> or adapters/<run>/checkpoint-<step>; `tune runs` lists them." }, ExitCode.user);
  if (existsSync(join(target, "plan.json"))) return inRun(target, bestOf(target));
  if (existsSync(join(dirname(target), "plan.json"))) return inRun(dirname(target), target);
  if (existsSync(join(target, "adapter_config.json"))) return { checkpoint: target, step: null, runDir: null, plan: null, metrics: null, gates: [], problem: null };
  throw TuneError.single({ code: "checkpoint-missing", message: `${target} is neither a run, a checkpoint nor an adapter folder`, location: { file: target }, hint: "Pass adapters/<run> or adapters/<run>/checkpoint-<step>; `tune runs` lists them." }, ExitCode.user);
}

function bestOf(runDir: string): string {
  const bestFile = join(runDir, "best.json");
  const best = existsSync(bestFile) ? (JSON.parse(readFileSync(bestFile, "utf8")) as { checkpoint?: string | null }).checkpoint : null;
  if (best && existsSync(best)) return best;
  const newest = findCheckpoints(runDir).valid[0]?.dir;
  if (newest) return newest;
  throw TuneError.single({ code: "run-has-no-checkpoint", message: `${runDir} has no complete checkpoint yet`, location: { file: runDir }, hint: "Run the recipe (again) until it saves a checkpoint." }, ExitCode.user);
}

function inRun(runDir: string, checkpoint: string): LocatedCheckpoint {
  const plan = JSON.parse(readFileSync(join(runDir, "plan.json"), "utf8")) as RunPlan;
  const step = Number(/^checkpoint-(\d+)$/.exec(basename(checkpoint))?.[1] ?? Number.NaN);
  const problem = checkpointProblem(checkpoint);
  const metrics = Number.isFinite(step) && !problem ? checkpointMetrics(checkpoint, step) : null;
  return { checkpoint, step: Number.isFinite(step) ? step : null, runDir, plan, metrics, gates: judgeGates(plan.eval.gates, metrics), problem };
}
