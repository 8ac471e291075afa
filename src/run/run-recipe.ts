import { statSync } from "node:fs";
import { resolve } from "node:path";
import { prepareData, type PrepareOptions, type PreparedData } from "../data/index.js";
import { TuneError } from "../errors/index.js";
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
}

export interface RunResult {
  plan: RunPlan;
  prepared: PreparedData;
  /** Where an existing run was moved by `restart`, if it was. */
  movedAside: string | null;
  /** `planned`: the run directory and plan exist, nothing was trained (see `reason`). */
  status: "planned";
  reason: string;
}

/**
 * Runs a recipe end to end. This version stops before training: it validates, resolves,
 * prepares the data, writes the run directory, and reports that no training engine ships yet.
 */
export async function runRecipe(file: string, options: RunOptions = {}): Promise<RunResult> {
  const loaded = await loadRecipe(file, { model: options.model, engine: options.engine });
  if (options.resume !== undefined) requireFolder(options.resume, "--resume");
  const resolved = resolvePlan(loaded, { out: options.out });
  const prepared = await prepareData(resolved, options);
  const plan = withManifests(resolved, prepared);
  const movedAside = options.restart ? moveRunAside(plan.run_dir) : null;
  writeRunDirectory(plan, loaded);
  return {
    plan,
    prepared,
    movedAside,
    status: "planned",
    reason: `no training engine is part of tune ${plan.tune_version} yet (neither tfjs nor torch)`,
  };
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
