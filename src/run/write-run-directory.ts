import { mkdirSync } from "node:fs";
import { extname, join } from "node:path";
import { writeFileAtomic } from "../checkpoint/index.js";
import { TuneError } from "../errors/index.js";
import type { LoadedRecipe, RunPlan } from "../recipe/index.js";

/**
 * Creates `<out>/<name>/` with plan.json and the recipe exactly as given (`recipe.yaml`,
 * `recipe.ts`, ...), both written atomically. A folder that cannot be written is a user
 * problem with a clear message, not a stack trace.
 */
export function writeRunDirectory(plan: RunPlan, loaded: LoadedRecipe): void {
  try {
    mkdirSync(plan.run_dir, { recursive: true });
    writeFileAtomic(join(plan.run_dir, "plan.json"), `${JSON.stringify(plan, null, 2)}\n`);
    writeFileAtomic(join(plan.run_dir, `recipe${extname(loaded.file)}`), loaded.sourceText);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "EACCES" || code === "EPERM" || code === "EROFS"
        ? "it is not writable"
        : code === "ENOSPC"
          ? "the disk is full"
          : (error as Error).message;
    throw TuneError.single({
      code: "run-dir-unwritable",
      message: `cannot write the run directory ${plan.run_dir}: ${why}`,
      location: { file: plan.run_dir },
      hint: "Choose another output root with --out, or free space / fix permissions there.",
    });
  }
}
