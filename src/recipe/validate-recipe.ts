import type { Problem } from "../errors/index.js";
import { checkConsistency } from "./check-consistency.js";
import { checkFiles } from "./check-files.js";
import { describeIssues, type Locator } from "./describe-issues.js";
import { RecipeSchema, type Recipe } from "./schema.js";

export type Validation = { ok: true; recipe: Recipe; problems: [] } | { ok: false; problems: Problem[] };

export interface ValidateOptions {
  /** Folder relative paths in the recipe are resolved against. */
  baseDir: string;
  /** Where problems are reported; without one they name only the field. */
  locator?: Locator;
}

/**
 * Validates a recipe value completely and reports every problem at once: schema (types,
 * ranges, unknown keys), files it points at, and rules across fields.
 */
export function validateRecipe(value: unknown, options: ValidateOptions): Validation {
  const locator = options.locator ?? fieldOnlyLocator("recipe");
  const parsed = RecipeSchema.safeParse(value, { reportInput: true });
  const problems: Problem[] = [
    ...(parsed.success ? [] : describeIssues(parsed.error.issues, locator)),
    ...checkFiles(value, options.baseDir, locator),
    ...(parsed.success ? checkConsistency(parsed.data, value, locator) : []),
  ];
  problems.sort(byPosition);
  if (parsed.success && problems.length === 0) return { ok: true, recipe: parsed.data, problems: [] };
  return { ok: false, problems };
}

/** A locator for sources without positions (TypeScript recipes, objects built in code). */
export function fieldOnlyLocator(file: string): Locator {
  return { locateValue: () => ({ file }), locateKey: () => ({ file }) };
}

function byPosition(a: Problem, b: Problem): number {
  return (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.column ?? 0) - (b.location?.column ?? 0);
}
