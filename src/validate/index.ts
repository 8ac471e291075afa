export { checkRecipe, type RecipeCheck } from "./check-recipe.js";
export { estimateRun, type RunEstimate } from "./estimate-run.js";
