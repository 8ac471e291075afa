import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, relative, resolve } from "node:path";
import { z } from "zod";
import { ExitCode, formatFieldPath, isTuneError, TuneError, type Problem } from "../errors/index.js";
import {
  didYouMean,
  loadRecipe,
  parseYamlSource,
  schemaAt,
  type JsonSchemaNode,
  type LoadedRecipe,
  type Locator,
  type RecipeOverrides,
} from "../recipe/index.js";

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

const PIPELINE_SHAPE = "A pipeline has `stages: [{recipe, pass}, …]` and an optional `test: {file}`.";

/** A field the pipeline schema does not have, at its own line, with the fields it may have meant. */
function unknownField(path: readonly PropertyKey[], key: string, source: Locator): Problem {
  const here = formatFieldPath(path);
  const schema = z.toJSONSchema(PipelineSchema, { io: "input", target: "draft-7" }) as JsonSchemaNode;
  const known = Object.keys(schemaAt(path, schema)?.properties ?? {});
  const suggestion = didYouMean(key, known);
  return {
    code: "pipeline-unknown-key",
    message: `${here ? `${here}.` : ""}${key}: unknown field`,
    field: here ? `${here}.${key}` : key,
    location: source.locateKey(path, key),
    hint: suggestion ? `Did you mean \`${suggestion}\`?` : `Known fields here: ${known.join(", ")}. ${PIPELINE_SHAPE}`,
  };
}

/** True for a YAML file whose top level has `stages`: a pipeline, not a recipe. */
export function isPipelineFile(path: string): boolean {
  if (![".yaml", ".yml"].includes(extname(path).toLowerCase()) || !existsSync(path)) return false;
  return /^stages\s*:/m.test(readFileSync(path, "utf8"));
}

/**
 * A layered classifier: stage recipes run in order, and a row goes on to the next stage only
 * when the previous one gave it one of its `pass` labels. Every stage is a classifier recipe
 * with the usual file:line messages; `pass` must name labels of its stage. The problems of
 * every stage are reported together.
 */
export async function loadPipeline(path: string, overrides: RecipeOverrides = {}): Promise<Pipeline> {
  const file = resolve(path);
  const source = parseYamlSource(readFileSync(file, "utf8"), path);
  if (source.problems.length > 0) throw new TuneError(source.problems);
  const parsed = PipelineSchema.safeParse(source.value);
  if (!parsed.success) {
    throw new TuneError(
      parsed.error.issues.flatMap((issue): Problem[] =>
        issue.code === "unrecognized_keys"
          ? issue.keys.map((key) => unknownField(issue.path, key, source))
          : [
              {
                code: "pipeline-invalid",
                message: `${formatFieldPath(issue.path) || "pipeline"}: ${issue.message}`,
                field: formatFieldPath(issue.path) || undefined,
                location: source.locateValue(issue.path),
                hint: PIPELINE_SHAPE,
              },
            ],
      ),
    );
  }
  const spec = parsed.data;
  const problems: Problem[] = [];
  const stages: PipelineStage[] = [];
  for (const [index, stage] of spec.stages.entries()) {
    const at = (field: string) => source.locateValue(["stages", index, field]);
    // Relative to where tune runs, as the pipeline's own path was given, so messages name it the same way.
    const recipeFile = relative(process.cwd(), resolve(dirname(file), stage.recipe));
    if (!statSync(recipeFile, { throwIfNoEntry: false })?.isFile()) {
      problems.push({
        code: "pipeline-stage-missing",
        message: `stages[${index}].recipe: there is no recipe file ${recipeFile}`,
        location: at("recipe"),
        hint: "A stage's recipe path is relative to the pipeline file.",
      });
      continue;
    }
    let recipe: LoadedRecipe;
    try {
      recipe = await loadRecipe(recipeFile, overrides);
    } catch (error) {
      // Every stage's recipe is checked, so one run of `tune validate` lists all their problems.
      if (!isTuneError(error) || error.exitCode !== ExitCode.user) throw error;
      problems.push(...error.problems);
      continue;
    }
    const labels = recipe.recipe.data.labels ?? [];
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
