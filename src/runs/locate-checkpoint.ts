import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { checkpointProblem, findCheckpoints, manifestProvenance, MANIFEST } from "../checkpoint/index.js";
import { judgeGates, type CheckpointMetrics, type GateResult } from "../eval/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import type { RunPlan } from "../recipe/index.js";
import { readBestRecord } from "./best-record.js";
import { checkpointMetrics } from "../checkpoint/index.js";
import { planSha256s } from "./plan-identity.js";
import { readRunPlan } from "./read-run-plan.js";

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
  /** Why the checkpoint is not sound, when the caller let a damaged one through (`tune push --force`). */
  problem: string | null;
}

export interface LocateOptions {
  /** Return a damaged checkpoint (with its problem) instead of refusing it. */
  allowDamaged?: boolean;
}

const CHECKPOINT_NAME = /^checkpoint-(\d+)$/;
const LIST_HINT = "Pass adapters/<run> or adapters/<run>/checkpoint-<step>; `tune runs` lists them.";

/**
 * The one check every verb that reads a checkpoint goes through (merge, push, eval, predict,
 * chat, compare, pipeline): a checkpoint folder of a run, a run folder (its best checkpoint,
 * else its newest complete one), or a PEFT adapter folder from elsewhere. A checkpoint of a run
 * must be whole (MANIFEST.json present, every file matching its sha256) and the run's own (its
 * manifest records this run's plan); anything else is refused with exit 2.
 */
export function locateCheckpoint(path: string, options: LocateOptions = {}): LocatedCheckpoint {
  const target = resolve(path);
  if (!existsSync(target))
    throw TuneError.single(
      { code: "checkpoint-missing", message: `${target} does not exist`, location: { file: target }, hint: LIST_HINT },
      ExitCode.user,
    );
  const located = existsSync(join(target, "plan.json"))
    ? inRun(target, bestOf(target))
    : existsSync(join(dirname(target), "plan.json"))
      ? inRun(dirname(target), target)
      : existsSync(join(target, "adapter_config.json"))
        ? foreignAdapter(target)
        : undefined;
  if (!located)
    throw TuneError.single(
      {
        code: "checkpoint-missing",
        message: `${target} is neither a run, a checkpoint nor an adapter folder`,
        location: { file: target },
        hint: LIST_HINT,
      },
      ExitCode.user,
    );
  if (located.problem && !options.allowDamaged) {
    throw TuneError.single(
      {
        code: "checkpoint-invalid",
        message: `cannot use ${located.checkpoint}: ${located.problem}`,
        location: { file: located.checkpoint },
        hint: "Use another checkpoint of the run (`tune runs` lists them), or run the recipe again to rewrite it.",
      },
      ExitCode.user,
    );
  }
  return located;
}

function bestOf(runDir: string): string {
  const best = readBestRecord(runDir)?.checkpoint;
  if (best && existsSync(best)) return best;
  const newest = findCheckpoints(runDir).valid[0]?.dir;
  if (newest) return newest;
  throw TuneError.single(
    {
      code: "run-has-no-checkpoint",
      message: `${runDir} has no complete checkpoint yet`,
      location: { file: runDir },
      hint: "Run the recipe (again) until it saves a checkpoint.",
    },
    ExitCode.user,
  );
}

function inRun(runDir: string, checkpoint: string): LocatedCheckpoint {
  const plan = readRunPlan(runDir) as RunPlan;
  const step = Number(CHECKPOINT_NAME.exec(basename(checkpoint))?.[1] ?? Number.NaN);
  const problem = Number.isFinite(step)
    ? (checkpointProblem(checkpoint) ?? foreignProblem(plan, checkpoint))
    : `${basename(checkpoint)} is not a checkpoint-<step> folder of ${runDir}`;
  const metrics = problem ? null : checkpointMetrics(checkpoint, step);
  return {
    checkpoint,
    step: Number.isFinite(step) ? step : null,
    runDir,
    plan,
    metrics,
    gates: judgeGates(plan.eval.gates, metrics),
    problem,
  };
}

/** A checkpoint copied or linked into a run it was not trained in: its manifest names another plan. */
function foreignProblem(plan: RunPlan, checkpoint: string): string | null {
  const recorded = manifestProvenance(checkpoint)?.plan_sha256;
  const known = planSha256s(plan);
  if (typeof recorded !== "string" || known.includes(recorded)) return null;
  return `it was trained by another recipe than ${join(dirname(checkpoint), "plan.json")} (its ${MANIFEST} records plan ${recorded.slice(0, 12)}, the run's is ${known[0]?.slice(0, 12)})`;
}

/** A PEFT adapter from elsewhere: whole if it carries a manifest, as PEFT wrote it otherwise. */
function foreignAdapter(dir: string): LocatedCheckpoint {
  const problem = existsSync(join(dir, MANIFEST))
    ? checkpointProblem(dir)
    : existsSync(join(dir, "adapter_model.safetensors"))
      ? null
      : existsSync(join(dir, "adapter_model.bin"))
        ? "it has only adapter_model.bin, a pickle, which tune never loads: unpickling runs code from the file (convert it once where you trust it: PeftModel.save_pretrained(dir, safe_serialization=True))"
        : "it has no adapter_model.safetensors (tune reads adapters only as safetensors)";
  return { checkpoint: dir, step: null, runDir: null, plan: null, metrics: null, gates: [], problem };
}
