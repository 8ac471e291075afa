export { listRuns, type RunSummary } from "./list-runs.js";
export { runRecipe, type RunOptions, type RunResult } from "./run-recipe.js";
