export { checkRecipe, type RecipeCheck } from "./check-recipe.js";
export { listRuns, type RunSummary } from "./list-runs.js";
export { runRecipe, type RunOptions, type RunResult } from "./run-recipe.js";
