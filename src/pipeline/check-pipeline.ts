import type { PrepareOptions } from "../data/index.js";
import { ExitCode, isTuneError, TuneError, type Problem } from "../errors/index.js";
import type { RecipeOverrides } from "../recipe/index.js";
import { checkRecipe, type RecipeCheck } from "../validate/index.js";
import { loadPipeline, type Pipeline } from "./load-pipeline.js";
import { readEndToEndTest } from "./run-pipeline.js";

export interface PipelineCheck {
  pipeline: Pipeline;
  /** Each stage's recipe and data, checked as `tune validate` checks a recipe. */
  stages: RecipeCheck[];
  /** Rows of the end-to-end test file, or null when the pipeline has none. */
  testRows: number | null;
}

/**
 * Everything `tune validate` checks of a pipeline: its own fields and stages, every stage's
 * recipe and data, and the end-to-end test file's final labels, so that nothing a run would
 * meet only after training its stages is left to find then.
 */
export async function checkPipeline(
  file: string,
  options: { overrides?: RecipeOverrides; out?: string } & PrepareOptions = {},
): Promise<PipelineCheck> {
  const pipeline = await loadPipeline(file, options.overrides);
  const stages: RecipeCheck[] = [];
  const problems: Problem[] = [];
  for (const stage of pipeline.stages) {
    try {
      stages.push(await checkRecipe(stage.recipe.file, options));
    } catch (error) {
      if (!isTuneError(error) || error.exitCode !== ExitCode.user) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw new TuneError(problems);
  const test = pipeline.test ? await readEndToEndTest(pipeline, pipeline.test) : null;
  return { pipeline, stages, testRows: test?.rows.length ?? null };
}
