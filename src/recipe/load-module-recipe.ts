import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createJiti } from "jiti";
import { TuneError } from "../errors/index.js";

// Built, the entry is index.js beside this folder; under the test runner it is index.ts.
const packageEntry = [".js", ".ts"]
  .map((ext) => fileURLToPath(new URL(`../index${ext}`, import.meta.url)))
  .find((path) => existsSync(path));

/**
 * Loads a recipe written in TypeScript or JavaScript: the module's default export (or its
 * `recipe` export), possibly a promise. `import ... from "tune"` inside it resolves to this
 * very package, wherever the recipe lives.
 */
export async function loadModuleRecipe(file: string): Promise<unknown> {
  const jiti = createJiti(import.meta.url, { interopDefault: false, moduleCache: false, fsCache: false, alias: packageEntry ? { tune: packageEntry } : {} });
  let module: Record<string, unknown>;
  try {
    module = (await jiti.import(file)) as Record<string, unknown>;
  } catch (error) {
    throw TuneError.single({
      code: "recipe-module-failed",
      message: `could not load the recipe module: ${(error as Error).message.split("\n")[0]}`,
      location: { file },
      hint: "Fix the error in the module (run it with `npx tsc --noEmit` for type errors).",
    });
  }
  const value = module.default ?? module.recipe;
  if (value === undefined) {
    throw TuneError.single({
      code: "recipe-module-no-export",
      message: "the module exports no recipe",
      location: { file },
      hint: "Add `export default defineRecipe({ ... })`.",
    });
  }
  return await value;
}
