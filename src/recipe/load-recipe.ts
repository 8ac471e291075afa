import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, resolve } from "node:path";
import { invalidUtf8Position, TuneError } from "../errors/index.js";
import type { Locator } from "./describe-issues.js";
import { loadModuleRecipe } from "./load-module-recipe.js";
import type { Recipe } from "./schema.js";
import { fieldOnlyLocator, validateRecipe } from "./validate-recipe.js";
import { parseYamlSource } from "./yaml-source.js";

export interface RecipeOverrides {
  /** Replaces `model.base` (the CLI's `--model`). */
  model?: string;
  /** Replaces `training.max_steps` and drops `training.epochs` (the CLI's `--max-steps`: a short smoke run of a real recipe). */
  maxSteps?: number;
  /** Replaces `engine` (the CLI's `--engine`). */
  engine?: string;
}

export interface LoadedRecipe {
  /** The validated recipe; `name` defaults to the file name. */
  recipe: Recipe & { name: string };
  /** Absolute path of the recipe file. */
  file: string;
  /** Folder relative paths in the recipe are resolved against. */
  baseDir: string;
  /** sha256 of the recipe's source text. */
  sha256: string;
  /** The recipe's source text, kept so a run directory can store the recipe as given. */
  sourceText: string;
  overrides: RecipeOverrides;
}

const YAML_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);
const MODULE_EXTENSIONS = new Set([".ts", ".mts", ".js", ".mjs"]);

/**
 * Reads, validates and returns a recipe file (YAML, JSON, or a TypeScript/JavaScript module).
 * Throws one TuneError carrying every problem found, each with file:line:column where the
 * source has positions.
 */
export async function loadRecipe(path: string, overrides: RecipeOverrides = {}): Promise<LoadedRecipe> {
  const file = resolve(path);
  const extension = extname(file).toLowerCase();
  if (!(statSync(file, { throwIfNoEntry: false })?.isFile() ?? false)) {
    throw TuneError.single({
      code: "recipe-not-found",
      message: `recipe not found: ${file}`,
      location: { file: path },
      hint: "Check the path, or write a starter recipe with `tune init`.",
    });
  }
  if (!YAML_EXTENSIONS.has(extension) && !MODULE_EXTENSIONS.has(extension)) {
    throw TuneError.single({
      code: "recipe-unknown-format",
      message: `cannot read a recipe from a ${extension || "extensionless"} file`,
      location: { file: path },
      hint: "Recipes are .yaml/.yml, .json, or .ts/.mts/.js/.mjs modules exporting defineRecipe({...}).",
    });
  }

  const sourceText = readRecipeText(file, path);
  let value: unknown;
  let locator: Locator;
  if (YAML_EXTENSIONS.has(extension)) {
    const source = parseYamlSource(sourceText, path);
    if (source.problems.length > 0) throw new TuneError(source.problems);
    value = source.value;
    locator = source;
  } else {
    value = await loadModuleRecipe(file);
    locator = fieldOnlyLocator(path);
  }
  if (value === null || value === undefined) {
    throw TuneError.single({
      code: "recipe-empty",
      message: "the recipe is empty",
      location: { file: path },
      hint: "A recipe needs at least `task`, `model.base` and `data`; `tune init` writes a starter.",
    });
  }

  const applied = applyOverrides(value, overrides);
  const validation = validateRecipe(applied, {
    baseDir: dirname(file),
    locator: overriddenLocator(locator, overrides),
  });
  if (!validation.ok) throw new TuneError(validation.problems);
  const recipe = { ...validation.recipe, name: validation.recipe.name ?? defaultName(file) };
  return {
    recipe,
    file,
    baseDir: dirname(file),
    sha256: createHash("sha256").update(sourceText).digest("hex"),
    sourceText,
    overrides,
  };
}

/** Far more than any recipe: a bigger file is a mistake (a data file passed as the recipe), not a recipe. */
const MAX_RECIPE_BYTES = 4 * 1024 * 1024;

/**
 * A recipe's text, decoded strictly: bytes that are not UTF-8 are reported at their line and
 * column, not replaced with U+FFFD (a Latin-1 label would otherwise fail later, blamed on the data).
 */
function readRecipeText(file: string, shown: string): string {
  const size = statSync(file).size;
  if (size > MAX_RECIPE_BYTES) {
    throw TuneError.single({
      code: "recipe-too-large",
      message: `the recipe is ${(size / 1024 / 1024).toFixed(1)} MB; recipes are a few kB`,
      location: { file: shown },
      hint: "Check that this is the recipe and not a data file; data goes in `data.file` or `data.train`.",
    });
  }
  const bytes = readFileSync(file);
  const invalid = invalidUtf8Position(bytes);
  if (invalid) {
    throw TuneError.single({
      code: "recipe-encoding",
      message: "the recipe is not valid UTF-8 here (a byte from another encoding, such as Latin-1 or Windows-1252)",
      location: { file: shown, ...invalid },
      hint: 'Save the recipe as UTF-8 (any editor\'s "Save with encoding").',
    });
  }
  return bytes.toString("utf8");
}

function applyOverrides(value: unknown, overrides: RecipeOverrides): unknown {
  if (typeof value !== "object" || Array.isArray(value)) return value;
  const recipe = { ...(value as Record<string, unknown>) };
  if (overrides.model !== undefined) {
    const model = recipe.model;
    recipe.model = { ...(typeof model === "object" && model !== null ? model : {}), base: overrides.model };
  }
  if (overrides.engine !== undefined) recipe.engine = overrides.engine;
  // A prompting recipe trains nothing: there is no length to cap.
  if (overrides.maxSteps !== undefined && recipe.task !== "prompting") {
    const training =
      typeof recipe.training === "object" && recipe.training !== null
        ? (recipe.training as Record<string, unknown>)
        : {};
    const capped: Record<string, unknown> = { ...training, max_steps: overrides.maxSteps };
    delete capped.epochs;
    recipe.training = capped;
  }
  return recipe;
}

/** Problems in a value given on the command line point at the flag, not at the file. */
function overriddenLocator(locator: Locator, overrides: RecipeOverrides): Locator {
  const flagFor = (path: readonly PropertyKey[]): string | undefined => {
    if (overrides.model !== undefined && path[0] === "model" && path[1] === "base") return "--model";
    if (overrides.engine !== undefined && path[0] === "engine") return "--engine";
    if (overrides.maxSteps !== undefined && path[0] === "training" && path[1] === "max_steps") return "--max-steps";
    return undefined;
  };
  return {
    locateValue: (path) => {
      const flag = flagFor(path);
      return flag ? { file: flag } : locator.locateValue(path);
    },
    locateKey: (path, key) => locator.locateKey(path, key),
  };
}

/** `recipes/lora-bias.yaml` runs as `lora-bias`. */
function defaultName(file: string): string {
  const stem = basename(file, extname(file)).replace(/[^A-Za-z0-9._-]/g, "-");
  return /^[A-Za-z0-9]/.test(stem) ? stem : `run-${stem}`;
}
