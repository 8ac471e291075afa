import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { PLAN_VERSION, type RunPlan } from "../../src/index.js";
import { ROOT, tune } from "../support/cli.js";

// Pipeline files chain recipes; reference-recipes.test.ts runs the shipped one.
const RECIPES = readdirSync(join(ROOT, "recipes")).filter(
  (f) => /\.(ya?ml|ts)$/.test(f) && !f.endsWith(".pipeline.yaml"),
);

async function planOf(recipe: string): Promise<RunPlan> {
  const result = await tune(["validate", `recipes/${recipe}`, "--json"]);
  expect(result.stderr).toBe("");
  expect(result.exitCode).toBe(0);
  return (JSON.parse(result.stdout) as { plan: RunPlan }).plan;
}

describe("the recipes shipped in recipes/", () => {
  it("include the quickstart and every reference system", () => {
    for (const name of [
      "quickstart.yaml",
      "lora-bias.yaml",
      "collective-action.yaml",
      "stop-hate.yaml",
      "stance-zero-shot.yaml",
      "stance-few-shot.yaml",
      "stance-encoder.yaml",
      "stance-survey.yaml",
    ]) {
      expect(RECIPES).toContain(name);
    }
  });

  it.each(RECIPES)("%s validates", async (recipe) => {
    const plan = await planOf(recipe);
    expect(plan.plan_version).toBe(PLAN_VERSION);
  });

  it.each(RECIPES.filter((r) => r.endsWith(".yaml")))("%s is accepted by the published JSON Schema too", (recipe) => {
    const schema = JSON.parse(readFileSync(join(ROOT, "schema/recipe.schema.json"), "utf8")) as object;
    const validate = new Ajv({ strict: false }).compile(schema);
    const valid = validate(parse(readFileSync(join(ROOT, "recipes", recipe), "utf8")));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it("collective-action.pipeline.yaml validates as a pipeline of its two stages", async () => {
    const result = await tune(["validate", "recipes/collective-action.pipeline.yaml", "--json"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const check = JSON.parse(result.stdout) as { name: string; stages: Array<{ plan: RunPlan; pass: string[] }> };
    expect(check.name).toBe("collective-action-layered");
    expect(check.stages.map((stage) => [stage.plan.name, stage.pass])).toEqual([
      ["collective-action-presence", ["participation"]],
      ["collective-action", []],
    ]);
  });

  it("lora-bias carries the reference hyperparameters", async () => {
    const plan = await planOf("lora-bias.yaml");
    expect(plan.task).toBe("sequence-classification");
    expect(plan.model.base).toBe("meta-llama/Llama-3.2-1B");
    expect(plan.lora).toMatchObject({ r: 16, alpha: 64, dropout: 0.1, task_type: "SEQ_CLS" });
    expect(plan.quantization).toEqual({
      bits: 4,
      type: "nf4",
      double_quant: true,
      compute_dtype: "bfloat16",
      skip_modules: [],
    });
    expect(plan.data.labels).toEqual(["Left", "Center", "Right"]);
    expect(plan.training).toMatchObject({
      batch_size: 4,
      gradient_accumulation: 4,
      lr: 2e-4,
      optimizer: "paged_adamw_32bit",
      epochs: 3,
      warmup_steps: 2,
      precision: "bf16",
    });
    expect(plan.eval.splits).toEqual(["train", "eval", "test"]);
  });

  it("stop-hate carries the reference hyperparameters", async () => {
    const plan = await planOf("stop-hate.yaml");
    expect(plan.task).toBe("causal-lm");
    expect(plan.lora).toMatchObject({ r: 32, alpha: 64, dropout: 0.05, bias: "lora_only" });
    expect(plan.lora.target_modules).toEqual([
      "q_proj",
      "k_proj",
      "v_proj",
      "o_proj",
      "gate_proj",
      "up_proj",
      "down_proj",
      "lm_head",
    ]);
    expect(plan.training).toMatchObject({ max_steps: 1000, lr: 2.5e-5, optimizer: "paged_adamw_8bit", epochs: null });
    expect(plan.quantization).toMatchObject({ bits: 4, type: "nf4" });
  });

  it("collective-action parses generated answers into its closed label set", async () => {
    const plan = await planOf("collective-action.yaml");
    expect(plan.task).toBe("generative-classification");
    expect(plan.data.labels).toEqual(["Problem-Solution", "Call-to-Action", "Intention", "Execution"]);
    expect(plan.eval.parse).toEqual({ match: "contains", fallback: "error" });
    expect(plan.template?.prompt).toContain("{text}");
  });

  it("the stance recipes cover zero-shot, few-shot, an encoder and survey simulation", async () => {
    const few = await planOf("stance-few-shot.yaml");
    expect(few.task).toBe("prompting");
    expect(few.template?.few_shot).toMatchObject({ per_class: 3, seed: 42 });
    const encoder = await planOf("stance-encoder.yaml");
    expect(encoder.task).toBe("sequence-classification");
    expect(encoder.eval.best_metric).toBe("f1_weighted");
    expect(encoder.checkpoints.every).toBe("epoch");
    const survey = await planOf("stance-survey.yaml");
    expect(survey.template?.options).toMatchObject({ shuffle: true, seed: 42 });
    expect(survey.eval.metrics).toEqual(expect.arrayContaining(["total_variation", "js_distance"]));
  });
});
