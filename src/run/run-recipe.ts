import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkpointProblem, findCheckpoints } from "../checkpoint/index.js";
import { prepareData, type PrepareOptions, type PreparedData } from "../data/index.js";
import { trainTfjs, type TrainEvent } from "../engine/tfjs/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import { loadRecipe, resolvePlan, type Metric, type RunPlan, type SplitName } from "../recipe/index.js";
import { withManifests } from "./check-recipe.js";
import { moveRunAside } from "./move-run-aside.js";
import { writeRunDirectory } from "./write-run-directory.js";
import { evaluateCheckpointSplit } from "./evaluate-checkpoint-split.js";

/** A checkpoint's split judged by the evaluator. */
export interface EvalEvent {
  type: "eval";
  step: number;
  split: SplitName;
  examples: number;
  metrics: Partial<Record<Metric, number>>;
  /** Generated answers that matched no label. */
  unparsed: number;
}

/** What a run reports as it goes: the engine's events and the evaluator's. */
export type RunEvent = TrainEvent | EvalEvent;

export interface RunOptions extends PrepareOptions {
  /** Output root (default `adapters`). */
  out?: string;
  /** Replaces the recipe's model.base. */
  model?: string;
  /** Replaces the recipe's engine. */
  engine?: string;
  /** Move an existing run aside and start over. */
  restart?: boolean;
  /** Resume from this checkpoint folder instead of the latest one. */
  resume?: string;
  /** Every engine event, as it happens (also appended to events.jsonl). */
  onEvent?: (event: RunEvent) => void;
  /** Asked after every optimizer step; true saves a checkpoint and stops (Ctrl-C, SIGTERM). */
  shouldStop?: () => boolean;
  /** Called once the data is prepared, before training, with the engine that will train. */
  onPrepared?: (prepared: PreparedData, engine: RunResult["engine"], plan: RunPlan) => void;
}

export interface RunResult {
  plan: RunPlan;
  prepared: PreparedData;
  /** Where an existing run was moved by `restart`, if it was. */
  movedAside: string | null;
  /** The engine that trained, and why it was chosen. */
  engine: { name: "tfjs"; why: string };
  /** The last checkpoint written. */
  checkpoint: string;
  /** The checkpoint this run continued from, if it resumed. */
  resumedFrom: string | null;
  /** Checkpoints found damaged or incomplete, skipped (never resumed from). */
  skipped: Array<{ dir: string; why: string }>;
  /** True when shouldStop ended the run early; re-running resumes it. */
  stopped: boolean;
}

/**
 * Runs a recipe: validate, resolve, prepare the data, write the run directory, train.
 * Re-running the same recipe resumes from the newest complete checkpoint (damaged or partial
 * ones are skipped and reported); a changed recipe that would make resuming wrong is refused
 * with the differences, unless `restart` moves the old run aside.
 */
export async function runRecipe(file: string, options: RunOptions = {}): Promise<RunResult> {
  const loaded = await loadRecipe(file, { model: options.model, engine: options.engine });
  const resolved = resolvePlan(loaded, { out: options.out });
  const engine = chooseEngine(resolved);
  const prepared = await prepareData(resolved, options);
  const plan = withManifests(resolved, prepared);
  const movedAside = options.restart ? moveRunAside(plan.run_dir) : null;
  const { valid, invalid } = findCheckpoints(plan.run_dir);
  let resumeFrom: string | null = null;
  if (options.resume !== undefined) {
    const why = checkpointProblem(options.resume);
    if (why) throw TuneError.single({ code: "checkpoint-invalid", message: `cannot resume from ${resolve(options.resume)}: ${why}`, location: { file: "--resume" }, hint: "Pass a complete checkpoint-<step> folder of this run." });
    resumeFrom = resolve(options.resume);
  } else if (valid.length > 0 || invalid.length > 0) {
    resumeFrom = valid[0]?.dir ?? null;
  }
  if (resumeFrom) refuseChangedPlan(plan);
  writeRunDirectory(plan, loaded);
  options.onPrepared?.(prepared, engine, plan);
  const events = join(plan.run_dir, "events.jsonl");
  const emit = (event: RunEvent) => {
    appendFileSync(events, `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
    options.onEvent?.(event);
  };
  const result = await trainTfjs(plan, prepared, {
    resumeFrom: resumeFrom ?? undefined,
    shouldStop: options.shouldStop,
    emit: (event) => {
      emit(event);
      if (event.type === "predictions") {
        const { split, examples, metrics, unparsed } = evaluateCheckpointSplit(plan, event.checkpoint, event.split, event.file);
        emit({ type: "eval", step: event.step, split, examples, metrics, unparsed });
      }
    },
  });
  return { plan, prepared, movedAside, engine, checkpoint: result.checkpoint, resumedFrom: resumeFrom, skipped: invalid, stopped: result.stopped };
}

/** Fields that must not change between a run and its resumption. */
const RESUME_FIELDS = ["task", "model", "quantization", "lora", "data", "template", "training"] as const;

function refuseChangedPlan(plan: RunPlan): void {
  const file = join(plan.run_dir, "plan.json");
  if (!existsSync(file)) return;
  const previous = JSON.parse(readFileSync(file, "utf8")) as RunPlan;
  // Dataset locations depend on the cache folder; their content is fixed by the rest of `data`.
  const comparable = (p: RunPlan) => ({ ...p, data: { ...p.data, manifests: null } });
  const differences = RESUME_FIELDS.flatMap((field) => diffPaths(comparable(previous)[field], comparable(plan)[field], field));
  if (differences.length > 0) {
    throw TuneError.single({
      code: "resume-plan-changed",
      message: `the recipe changed since ${plan.run_dir} was started, so resuming would mix two experiments: ${differences.slice(0, 8).join("; ")}${differences.length > 8 ? `; and ${differences.length - 8} more` : ""}`,
      location: { file },
      hint: "Undo the change to resume, or pass --restart to move the old run aside and start over.",
    });
  }
}

function diffPaths(before: unknown, after: unknown, path: string): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (before && after && typeof before === "object" && typeof after === "object" && !Array.isArray(before)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((key) => diffPaths((before as Record<string, unknown>)[key], (after as Record<string, unknown>)[key], `${path}.${key}`));
  }
  return [`${path}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`];
}

function chooseEngine(plan: RunPlan): RunResult["engine"] {
  if (plan.engine === "torch") {
    throw TuneError.single({ code: "engine-missing", message: "the torch engine is not part of this version of tune yet", hint: "Use engine: tfjs (or auto) for Llama-family models without quantization." }, ExitCode.environment);
  }
  return { name: "tfjs", why: plan.engine === "tfjs" ? "the recipe asks for it" : "auto: the torch engine is not part of this version yet" };
}

