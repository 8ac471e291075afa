import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { prepareData, type PreparedData } from "../../src/data/index.js";
import { loadRecipe, resolvePlan, type RunPlan } from "../../src/index.js";
import { locateModel } from "../../src/model/index.js";
import type { CompletePlan } from "../../src/recipe/index.js";
import { completePlan } from "../../src/run/index.js";
import { tempDir } from "./temp-dir.js";

/** A resolved plan for a recipe written into a fresh folder with the given files. */
export async function planFor(
  recipe: string,
  files: Record<string, string> = {},
): Promise<{ plan: RunPlan; dir: string }> {
  const dir = tempDir(files);
  writeFileSync(join(dir, "recipe.yaml"), recipe);
  return { plan: resolvePlan(await loadRecipe(join(dir, "recipe.yaml")), { out: join(dir, "runs") }), dir };
}

/** `count` rows of labelled text, labels cycling through `labels`. */
export function labelledCsv(count: number, labels: string[]): string {
  return `text,label\n${Array.from({ length: count }, (_, i) => `example text number ${i},${labels[i % labels.length]}`).join("\n")}\n`;
}

/** The model located, the data prepared and the plan completed, as the runner does before training. */
export async function preparedFor(
  plan: RunPlan,
  cacheRoot: string,
): Promise<{ plan: CompletePlan; modelDir: string; prepared: PreparedData }> {
  const model = await locateModel(plan, { cacheRoot });
  const prepared = await prepareData(plan, model, { cacheRoot });
  return { plan: completePlan(plan, prepared), modelDir: model.dir, prepared };
}
