import { existsSync } from "node:fs";
import { loraFromAdapter, type PeftConfig } from "../adapter/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import {
  classifyModelRef,
  hubIdProblem,
  RecipeSchema,
  resolvePlan,
  revisionProblem,
  type LoadedRecipe,
  type RunPlan,
} from "../recipe/index.js";

/** An adapter's files as tune read them: its config and the modules its tensors adapt. */
export interface AdapterContents {
  dir: string;
  config: PeftConfig;
  /** Full module names with a lora_A/lora_B pair in adapter_model.safetensors. */
  modules: string[];
}

/**
 * The base model an adapter from outside tune is used with: `--base`, else its
 * base_model_name_or_path (and revision). Those come from a stranger's file: a Hub id must be one,
 * and a local path must exist here (it usually names the trainer's own disk).
 */
export function adapterBase(adapter: AdapterContents, base: string | undefined): { base: string; revision: string } {
  if (base !== undefined) return { base, revision: "main" };
  const configFile = `${adapter.dir}/adapter_config.json`;
  const named = adapter.config.base_model_name_or_path ?? null;
  const refuse = (message: string) =>
    TuneError.single(
      {
        code: "adapter-base-unknown",
        message,
        location: { file: configFile },
        field: "base_model_name_or_path",
        hint: "Pass the base model the adapter was trained on with --base <folder|hub id>.",
      },
      ExitCode.user,
    );
  if (!named) throw refuse(`${configFile} does not say which base model the adapter was trained on`);
  const ref = classifyModelRef(named, process.cwd());
  if (ref.kind === "local" && !existsSync(ref.path))
    throw refuse(`base_model_name_or_path ${named} is a folder on the machine that trained the adapter, not here`);
  if (ref.kind === "hub" && hubIdProblem(named))
    throw refuse(`base_model_name_or_path ${named}: ${hubIdProblem(named)}`);
  const revision = adapter.config.revision ?? "main";
  if (revisionProblem(revision))
    throw TuneError.single(
      {
        code: "adapter-base-unknown",
        message: `revision ${JSON.stringify(revision)}: ${revisionProblem(revision)}`,
        location: { file: configFile },
        field: "revision",
        hint: "Pass the base model with --base <folder|hub id>.",
      },
      ExitCode.user,
    );
  return { base: named, revision };
}

/**
 * The recipe a generative adapter is chatted with when none is given: a causal LM with every
 * default, no data. Classifiers and evaluation need a recipe (labels, template, data).
 */
export function chatOnlyRecipe(adapter: AdapterContents, base: string): LoadedRecipe {
  const name = adapter.dir.split(/[/\\]/).filter(Boolean).at(-1) ?? "adapter";
  const recipe = RecipeSchema.parse({ task: "causal-lm", model: { base }, data: {} });
  return {
    recipe: { ...recipe, name },
    file: `${adapter.dir}/adapter_config.json`,
    baseDir: process.cwd(),
    sha256: "",
    sourceText: "",
    overrides: {},
  };
}

/**
 * The plan an adapter from outside tune is evaluated, predicted or chatted with: the recipe's
 * data, template, labels, evaluation and generation; the base from adapterBase; the LoRA shape
 * from the adapter itself (a recipe's `lora:` describes training, and this adapter is trained).
 * Its run folder is `runDir`, a folder tune owns, never the adapter's.
 */
export function foreignPlan(
  loaded: LoadedRecipe,
  adapter: AdapterContents,
  base: { base: string; revision: string },
  runDir: string,
): RunPlan {
  const plan = resolvePlan(loaded);
  return {
    ...plan,
    run_dir: runDir,
    model: { ...plan.model, ...base, source: classifyModelRef(base.base, process.cwd()) },
    lora: loraFromAdapter(adapter.config, adapter.modules, plan.lora.task_type),
  };
}
