import { loadExamples, prepareData, type PrepareOptions, type PreparedData } from "../data/index.js";
import { ExitCode, isTuneError } from "../errors/index.js";
import { locateModel, type ModelOptions } from "../model/index.js";
import { completePlan } from "../run/index.js";
import { loadRecipe, resolvePlan, type LoadedRecipe, type RecipeOverrides, type RunPlan } from "../recipe/index.js";
import { planFromAdapter } from "../target/index.js";

export interface RecipeCheck {
  loaded: LoadedRecipe;
  plan: RunPlan;
  /** The model folder and the tokenized datasets, or null when the model is not on this machine. */
  modelDir: string | null;
  prepared: PreparedData | null;
  /** Why token statistics could not be computed (the rows were still checked). */
  tokenizerMissing: string | null;
}

/**
 * Everything `tune validate` checks: the recipe (and its `model.adapter`), then every row of its data (columns, labels,
 * conversations), then tokenization and length statistics where the tokenizer is available.
 */
export async function checkRecipe(
  file: string,
  options: { overrides?: RecipeOverrides; out?: string } & PrepareOptions & ModelOptions = {},
): Promise<RecipeCheck> {
  const loaded = await loadRecipe(file, options.overrides);
  // model.adapter decides the LoRA shape, and a recipe `lora:` key that disagrees is an error.
  const plan = await planFromAdapter(loaded, resolvePlan(loaded, { out: options.out }), options.onDownload);
  try {
    const model = await locateModel(plan, options);
    const prepared = await prepareData(plan, model, options);
    return { loaded, plan: completePlan(plan, prepared), modelDir: model.dir, prepared, tokenizerMissing: null };
  } catch (error) {
    if (!isTuneError(error) || error.exitCode !== ExitCode.environment) throw error;
    await loadExamples(plan);
    return {
      loaded,
      plan,
      modelDir: null,
      prepared: null,
      tokenizerMissing: error.problems[0]?.message ?? "tokenizer unavailable",
    };
  }
}
