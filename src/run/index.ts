export { checkRecipe, type RecipeCheck } from "./check-recipe.js";
export { listRuns, type RunSummary } from "./list-runs.js";
export { runRecipe, type EvalEvent, type RunEvent, type RunOptions, type RunResult } from "./run-recipe.js";
