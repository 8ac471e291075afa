import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, extname, resolve } from "node:path";
import { z } from "zod";
import { formatFieldPath, TuneError, type Problem } from "../errors/index.js";
import { loadRecipe, parseYamlSource, type LoadedRecipe, type RecipeOverrides } from "../recipe/index.js";

const PipelineSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a name uses letters, digits, '.', '_' and '-'")
    .optional(),
  description: z.string().optional(),
  stages: z
    .array(
      z.strictObject({
        recipe: z.string().min(1),
        pass: z.array(z.string().min(1)).min(1).optional(),
      }),
    )
    .min(2, "a pipeline chains at least two stages"),
  test: z
    .strictObject({
      file: z.string().min(1),
      columns: z
        .strictObject({ text: z.string().min(1).default("text"), label: z.string().min(1).default("label") })
        .prefault({}),
    })
    .optional(),
});

export interface PipelineStage {
  recipe: LoadedRecipe;
  /** Labels that send a row on to the next stage (none for the last stage). */
  pass: string[];
}

export interface Pipeline {
  file: string;
  name: string;
  description: string | null;
  stages: PipelineStage[];
  /** End-to-end evaluation data: texts with their final label. */
  test: { file: string; text: string; label: string } | null;
}

const CLASSIFIERS = new Set(["sequence-classification", "generative-classification", "prompting"]);

/** True for a YAML file whose top level has `stages`: a pipeline, not a recipe. */
export function isPipelineFile(path: string): boolean {
  if (![".yaml", ".yml"].includes(extname(path).toLowerCase()) || !existsSync(path)) return false;
  return /^stages\s*:/m.test(readFileSync(path, "utf8"));
}

/**
 * A layered classifier: stage recipes run in order, and a row goes on to the next stage only
 * when the previous one gave it one of its `pass` labels. Every stage is a classifier recipe
 * with the usual file:line messages; `pass` must name labels of its stage.
 */
export async function loadPipeline(path: string, overrides: RecipeOverrides = {}): Promise<Pipeline> {
  const file = resolve(path);
  const source = parseYamlSource(readFileSync(file, "utf8"), path);
  if (source.problems.length > 0) throw new TuneError(source.problems);
  const parsed = PipelineSchema.safeParse(source.value);
  if (!parsed.success) {
    throw new TuneError(
      parsed.error.issues.map((issue): Problem => ({
        code: "pipeline-invalid",
        message: `${formatFieldPath(issue.path) || "pipeline"}: ${issue.message}`,
        field: formatFieldPath(issue.path) || undefined,
        location: source.locateValue(issue.path),
        hint: "A pipeline has `stages: [{recipe, pass}, …]` and an optional `test: {file}`.",
      })),
    );
  }
  const spec = parsed.data;
  const problems: Problem[] = [];
  const stages: PipelineStage[] = [];
  for (const [index, stage] of spec.stages.entries()) {
    const recipe = await loadRecipe(resolve(dirname(file), stage.recipe), overrides);
    const labels = recipe.recipe.data.labels ?? [];
    const at = (field: string) => source.locateValue(["stages", index, field]);
    if (!CLASSIFIERS.has(recipe.recipe.task))
      problems.push({
        code: "pipeline-stage-task",
        message: `stages[${index}]: ${stage.recipe} is a ${recipe.recipe.task} recipe; pipeline stages classify`,
        location: at("recipe"),
        hint: "Use sequence-classification, generative-classification or prompting recipes.",
      });
    const last = index === spec.stages.length - 1;
    if (!last && !stage.pass)
      problems.push({
        code: "pipeline-pass-missing",
        message: `stages[${index}]: which of its labels send a row on to the next stage?`,
        location: at("recipe"),
        hint: `Add \`pass: [${labels[0] ?? "label"}]\`.`,
      });
    if (last && stage.pass)
      problems.push({
        code: "pipeline-pass-last",
        message: `stages[${index}]: the last stage passes rows nowhere`,
        location: at("pass"),
        hint: "Remove `pass` from the last stage.",
      });
    for (const label of stage.pass ?? []) {
      if (!labels.includes(label))
        problems.push({
          code: "pipeline-pass-label",
          message: `stages[${index}].pass: "${label}" is not one of ${stage.recipe}'s labels (${labels.join(", ")})`,
          location: at("pass"),
          hint: "Name labels the stage predicts.",
        });
    }
    stages.push({ recipe, pass: stage.pass ?? [] });
  }
  if (problems.length > 0) throw new TuneError(problems);
  return {
    file,
    name: spec.name ?? basename(file).replace(/(\.pipeline)?\.ya?ml$/i, ""),
    description: spec.description ?? null,
    stages,
    test: spec.test
      ? { file: resolve(dirname(file), spec.test.file), text: spec.test.columns.text, label: spec.test.columns.label }
      : null,
  };
}
