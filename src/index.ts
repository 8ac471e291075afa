/**
 * tune's library API, for scripts: load and validate recipes, resolve them into run plans,
 * run them, and inspect runs. The CLI is built on exactly these functions.
 */
export { ExitCode, TuneError, isTuneError, type Problem, type SourceLocation } from "./errors/index.js";
export {
  defineRecipe,
  loadRecipe,
  recipeJsonSchema,
  resolvePlan,
  validateRecipe,
  PLAN_VERSION,
  RecipeSchema,
  type LoadedRecipe,
  type Recipe,
  type RecipeInput,
  type RecipeOverrides,
  type RunPlan,
  type Validation,
} from "./recipe/index.js";
export { runRecipe, type RunOptions, type RunResult } from "./run/index.js";
export { listRuns, type RunSummary } from "./runs/index.js";
export { inspectEnvironment, type EnvironmentReport } from "./engine/index.js";
export { TUNE_VERSION } from "./version.js";
