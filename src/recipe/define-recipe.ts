import type { RecipeInput } from "./schema.js";

/**
 * Identity at run time; gives a TypeScript recipe the schema's types so editors complete and
 * check it. `tune` validates the result with the same schema as a YAML recipe.
 */
export function defineRecipe(recipe: RecipeInput): RecipeInput {
  return recipe;
}
