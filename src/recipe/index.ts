export { defineRecipe } from "./define-recipe.js";
export type { Locator } from "./describe-issues.js";
export { didYouMean } from "./did-you-mean.js";
export { recipeJsonSchema, schemaAt, type JsonSchemaNode } from "./json-schema.js";
export { processesPerNode, worldSize } from "./process-count.js";
export { recipeReferenceMarkdown } from "./reference-doc.js";
export { loadModuleRecipe } from "./load-module-recipe.js";
export { loadRecipe, type LoadedRecipe, type RecipeOverrides } from "./load-recipe.js";
export { locateRecipeField } from "./locate-field.js";
export {
  BUILTIN_MODELS,
  classifyModelRef,
  hubIdProblem,
  repoPathProblem,
  revisionProblem,
  type ModelRef,
} from "./model-ref.js";
export {
  hubDataSources,
  PLAN_VERSION,
  resolvePlan,
  type AdapterSource,
  type CompletePlan,
  type DataRole,
  type DataSource,
  type Gate,
  type ResolveOptions,
  type RunPlan,
  type Schedule,
} from "./resolve.js";
export {
  DEFAULT_RENDEZVOUS_PORT,
  METRICS,
  OPTIMIZERS,
  RecipeSchema,
  SPLITS,
  TASKS,
  type HubData,
  type Metric,
  type Recipe,
  type RecipeInput,
  type SplitName,
  type Task,
} from "./schema.js";
export { STARTER_TASKS, starterRecipe } from "./starter-recipe.js";
export { fieldOnlyLocator, validateRecipe, type ValidateOptions, type Validation } from "./validate-recipe.js";
export { parseYamlSource, type YamlSource } from "./yaml-source.js";
