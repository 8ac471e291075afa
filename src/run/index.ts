export { completePlan } from "./complete-plan.js";
export { runRecipe, type EvalEvent, type RunEvent, type RunOptions, type RunResult } from "./run-recipe.js";
