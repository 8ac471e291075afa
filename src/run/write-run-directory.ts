import { extname, join } from "node:path";
import { makeFolders, writeFileAtomic } from "../files/index.js";
import type { LoadedRecipe, RunPlan } from "../recipe/index.js";

/**
 * Creates `<out>/<name>/` with plan.json and the recipe exactly as given (`recipe.yaml`,
 * `recipe.ts`, ...), both written atomically.
 */
export function writeRunDirectory(plan: RunPlan, loaded: LoadedRecipe): void {
  makeFolders(plan.run_dir);
  writeFileAtomic(join(plan.run_dir, "plan.json"), `${JSON.stringify(plan, null, 2)}\n`);
  writeFileAtomic(join(plan.run_dir, `recipe${extname(loaded.file)}`), loaded.sourceText);
}
