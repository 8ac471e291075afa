import { appendFileSync, existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { prepareData, type PrepareOptions, type PreparedData } from "../data/index.js";
import { trainTfjs, type TrainEvent } from "../engine/tfjs/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import { loadRecipe, resolvePlan, type RunPlan } from "../recipe/index.js";
import { withManifests } from "./check-recipe.js";
import { moveRunAside } from "./move-run-aside.js";
import { writeRunDirectory } from "./write-run-directory.js";

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
  onEvent?: (event: TrainEvent) => void;
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
}

/**
 * Runs a recipe: validate, resolve, prepare the data, write the run directory, train.
 * This version trains on the tfjs engine only and does not resume: a run directory that
 * already holds checkpoints is refused unless `restart` moves it aside.
 */
export async function runRecipe(file: string, options: RunOptions = {}): Promise<RunResult> {
  const loaded = await loadRecipe(file, { model: options.model, engine: options.engine });
  if (options.resume !== undefined) {
    requireFolder(options.resume, "--resume");
    throw TuneError.single({ code: "resume-unavailable", message: "resuming from a checkpoint is not part of this version of tune yet", location: { file: "--resume" }, hint: "Run without --resume, adding --restart to move the previous run aside." }, ExitCode.environment);
  }
  const resolved = resolvePlan(loaded, { out: options.out });
  const engine = chooseEngine(resolved);
  const prepared = await prepareData(resolved, options);
  const plan = withManifests(resolved, prepared);
  const movedAside = options.restart ? moveRunAside(plan.run_dir) : null;
  if (hasCheckpoints(plan.run_dir)) {
    throw TuneError.single({ code: "run-exists", message: `${plan.run_dir} already holds checkpoints, and resuming is not part of this version of tune yet`, location: { file: plan.run_dir }, hint: "Add --restart to move that run aside (it is kept, not deleted) and start over." });
  }
  writeRunDirectory(plan, loaded);
  options.onPrepared?.(prepared, engine, plan);
  const events = join(plan.run_dir, "events.jsonl");
  const { checkpoint } = await trainTfjs(plan, prepared, {
    emit: (event) => {
      appendFileSync(events, `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
      options.onEvent?.(event);
    },
  });
  return { plan, prepared, movedAside, engine, checkpoint };
}

function chooseEngine(plan: RunPlan): RunResult["engine"] {
  if (plan.engine === "torch") {
    throw TuneError.single({ code: "engine-missing", message: "the torch engine is not part of this version of tune yet", hint: "Use engine: tfjs (or auto) for Llama-family models without quantization." }, ExitCode.environment);
  }
  return { name: "tfjs", why: plan.engine === "tfjs" ? "the recipe asks for it" : "auto: the torch engine is not part of this version yet" };
}

function hasCheckpoints(runDir: string): boolean {
  return existsSync(runDir) && readdirSync(runDir).some((name) => /^checkpoint-\d+$/.test(name));
}

function requireFolder(path: string, flag: string): void {
  if (!(statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false)) {
    throw TuneError.single({
      code: "checkpoint-not-found",
      message: `checkpoint folder not found: ${resolve(path)}`,
      location: { file: flag },
      hint: "Pass a checkpoint-<step> folder of a run, e.g. adapters/<run>/checkpoint-500.",
    });
  }
}
