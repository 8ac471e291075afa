import { loadExamples, prepareData, type PrepareOptions, type PreparedData } from "../data/index.js";
import { ExitCode, isTuneError } from "../errors/index.js";
import { loadRecipe, resolvePlan, type LoadedRecipe, type RecipeOverrides, type RunPlan } from "../recipe/index.js";

export interface RecipeCheck {
  loaded: LoadedRecipe;
  plan: RunPlan;
  /** The tokenized datasets, or null when the model's tokenizer is not on this machine. */
  prepared: PreparedData | null;
  /** Why token statistics could not be computed (the rows were still checked). */
  tokenizerMissing: string | null;
}

/**
 * Everything `tune validate` checks: the recipe, then every row of its data (columns, labels,
 * conversations), then tokenization and length statistics where the tokenizer is available.
 */
export async function checkRecipe(
  file: string,
  options: { overrides?: RecipeOverrides; out?: string } & PrepareOptions = {},
): Promise<RecipeCheck> {
  const loaded = await loadRecipe(file, options.overrides);
  const plan = resolvePlan(loaded, { out: options.out });
  try {
    const prepared = await prepareData(plan, options);
    return { loaded, plan: withManifests(plan, prepared), prepared, tokenizerMissing: null };
  } catch (error) {
    if (!isTuneError(error) || error.exitCode !== ExitCode.environment) throw error;
    await loadExamples(plan);
    return { loaded, plan, prepared: null, tokenizerMissing: error.problems[0]?.message ?? "tokenizer unavailable" };
  }
}

/** The plan with the prepared datasets' locations filled in (contract 1). */
export function withManifests(plan: RunPlan, prepared: PreparedData): RunPlan {
  const manifests = Object.fromEntries(
    Object.entries(prepared.splits).map(([name, split]) => [name, `${split.dir}/manifest.json`]),
  );
  return { ...plan, data: { ...plan.data, manifests } };
}
