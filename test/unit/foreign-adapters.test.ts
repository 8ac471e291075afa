import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { adapterProblem, peftConfigRefusals, writeSafetensors } from "../../src/adapter/index.js";
import { isTuneError } from "../../src/errors/index.js";
import { downloadAdapter } from "../../src/hub/index.js";
import { checkRecipe } from "../../src/validate/index.js";
import { loadRecipe, resolvePlan, type RunPlan } from "../../src/recipe/index.js";
import { openTarget, planFromAdapter } from "../../src/target/index.js";
import { ROOT } from "../support/cli.js";
import { failure, useFakeHub } from "../support/hub-fixture.js";
import { tempDir } from "../support/temp-dir.js";

const STORIES = join(ROOT, "test/models/stories260K");
const fixture = useFakeHub("hf_foreign_adapters_0123");

/** adapter_config.json as PEFT 0.21 writes it, every field at its default. */
const PEFT_DEFAULTS: Record<string, unknown> = {
  alora_invocation_tokens: null,
  alpha_pattern: {},
  arrow_config: null,
  auto_mapping: null,
  base_model_name_or_path: STORIES,
  bias: "none",
  corda_config: null,
  ensure_weight_tying: false,
  eva_config: null,
  exclude_modules: null,
  fan_in_fan_out: false,
  inference_mode: true,
  init_lora_weights: true,
  kasa_config: null,
  layer_replication: null,
  layers_pattern: null,
  layers_to_transform: null,
  loftq_config: {},
  lora_alpha: 8,
  lora_bias: false,
  lora_dropout: 0.0,
  lora_ga_config: null,
  megatron_config: null,
  megatron_core: "megatron.core",
  modules_to_save: null,
  monteclora_config: null,
  peft_type: "LORA",
  peft_version: "0.21.0",
  qalora_group_size: 16,
  r: 4,
  rank_pattern: {},
  revision: null,
  target_modules: ["q_proj"],
  target_parameters: null,
  task_type: "CAUSAL_LM",
  trainable_token_indices: null,
  use_bdlora: null,
  use_dora: false,
  use_qalora: false,
  use_rslora: false,
  velora_config: null,
};

describe("which adapter_config.json fields tune refuses", () => {
  it.each([
    ["peft_type", { peft_type: "IA3" }, "run"],
    ["task_type", { task_type: "TOKEN_CLS" }, "merge"],
    ["fan_in_fan_out", { fan_in_fan_out: true }, "run"],
    ["init_lora_weights", { init_lora_weights: "pissa_niter_4" }, "merge"],
    ["bias", { bias: "some" }, "run"],
    ["lora_bias", { lora_bias: true }, "merge"],
    ["use_qalora", { use_qalora: true }, "run"],
    ["target_parameters", { target_parameters: ["experts.gate_up_proj"] }, "run"],
    ["trainable_token_indices", { trainable_token_indices: [1, 2] }, "run"],
    ["layer_replication", { layer_replication: [[0, 2]] }, "merge"],
    ["megatron_config", { megatron_config: { tp: 2 } }, "run"],
    ["alora_invocation_tokens", { alora_invocation_tokens: [5] }, "run"],
    ["rank_pattern", { rank_pattern: { "q_proj(": 2 } }, "run"],
    ["a_future_variant", { a_future_variant: { on: true } }, "run"],
  ] as const)("refuses %s, naming it", (field, change, use) => {
    const refused = peftConfigRefusals({ ...PEFT_DEFAULTS, ...change }, use);
    expect(refused.map((r) => r.field)).toEqual([field]);
    expect(refused[0]?.message).toContain(field);
  });

  it.each([
    ["PEFT 0.21's defaults", {}, "run"],
    ["DoRA, rsLoRA, trained biases", { use_dora: true, use_rslora: true, bias: "all" }, "run"],
    [
      "ranks per module and a regular expression for targets",
      { rank_pattern: { v_proj: 2 }, target_modules: ".*q_proj" },
      "run",
    ],
    [
      "layers_to_transform and exclude_modules",
      { layers_to_transform: [0, 1], layers_pattern: "layers", exclude_modules: ["x"] },
      "run",
    ],
    ["fan_in_fan_out, to merge", { fan_in_fan_out: true }, "merge"],
    ["no task_type", { task_type: null }, "run"],
    [
      "an old config without the newer fields",
      { lora_bias: undefined, use_qalora: undefined, target_parameters: undefined },
      "run",
    ],
  ] as const)("accepts %s", (_, change, use) => {
    expect(peftConfigRefusals({ ...PEFT_DEFAULTS, ...change }, use)).toEqual([]);
  });

  it("refuses a task_type the recipe's task does not fit", () => {
    expect(peftConfigRefusals(PEFT_DEFAULTS, "run", "sequence-classification").map((r) => r.field)).toEqual([
      "task_type",
    ]);
    expect(peftConfigRefusals({ ...PEFT_DEFAULTS, task_type: "SEQ_CLS" }, "run", "causal-lm")[0]?.hint).toContain(
      "sequence-classification",
    );
  });
});

/** A PEFT-named LoRA on stories260K's q_proj of layer 0, with an optional classification head of `labels` rows. */
function writeAdapter(config: Record<string, unknown>, head?: number): string {
  const dir = join(tempDir(), "adapter");
  mkdirSync(dir);
  writeFileSync(join(dir, "adapter_config.json"), JSON.stringify({ ...PEFT_DEFAULTS, ...config }));
  const m = "base_model.model.model.layers.0.self_attn.q_proj";
  writeSafetensors(join(dir, "adapter_model.safetensors"), [
    { name: `${m}.lora_A.weight`, dtype: "F32", shape: [4, 64], data: new Float32Array(256).fill(0.01) },
    { name: `${m}.lora_B.weight`, dtype: "F32", shape: [64, 4], data: new Float32Array(256).fill(0.01) },
    ...(head
      ? [
          {
            name: "base_model.model.score.weight",
            dtype: "F32" as const,
            shape: [head, 64],
            data: new Float32Array(head * 64),
          },
        ]
      : []),
  ]);
  return dir;
}

function writeRecipe(task: "sequence-classification" | "causal-lm", extra = ""): string {
  const dir = tempDir({ "rows.csv": "text,label\na,good\nb,bad\n" });
  const body =
    task === "causal-lm"
      ? `task: causal-lm\nmodel: {base: ${STORIES}}\ndata: {train: rows.csv}\ntemplate: {prompt: "{text}", completion: "{label}"}\n`
      : `task: sequence-classification\nmodel: {base: ${STORIES}}\ndata: {train: rows.csv, labels: [good, bad]}\n`;
  writeFileSync(join(dir, "r.yaml"), body + extra);
  return join(dir, "r.yaml");
}

async function fitProblem(adapter: string, recipe: string): Promise<string | null> {
  const target = await openTarget(adapter, { purpose: "evaluate", recipe });
  return adapterProblem(target.plan as RunPlan, target.checkpoint, STORIES);
}

describe("an adapter from elsewhere, checked before use", () => {
  it("a classifier recipe refuses an adapter without a head, or with a head for other labels", async () => {
    const recipe = writeRecipe("sequence-classification");
    expect(await fitProblem(writeAdapter({ task_type: "SEQ_CLS" }), recipe)).toContain("no classification head");
    expect(await fitProblem(writeAdapter({ task_type: "SEQ_CLS" }, 3), recipe)).toContain(
      "3 outputs, the recipe 2 labels",
    );
    expect(await fitProblem(writeAdapter({ task_type: null, modules_to_save: ["score"] }, 2), recipe)).toBeNull();
  });

  it("refuses a task_type mismatch, a pickle-only adapter, a missing base and eval without a recipe", async () => {
    const mismatch = await failure(
      openTarget(writeAdapter({}), { purpose: "evaluate", recipe: writeRecipe("sequence-classification") }),
    );
    expect(mismatch).toMatchObject({ code: "adapter-unsupported", exitCode: 2 });
    expect(mismatch.message).toContain("task_type CAUSAL_LM does not fit");

    const pickled = tempDir({ "adapter_config.json": JSON.stringify(PEFT_DEFAULTS), "adapter_model.bin": "pickle" });
    const pickle = await failure(openTarget(pickled, { purpose: "publish" }));
    expect(pickle.message).toContain("only adapter_model.bin, a pickle");

    const noBase = await failure(openTarget(writeAdapter({ base_model_name_or_path: null }), { purpose: "chat" }));
    expect(noBase).toMatchObject({ code: "adapter-base-unknown", exitCode: 2 });
    expect(noBase.hint).toContain("--base");
    const elsewhere = await failure(
      openTarget(writeAdapter({ base_model_name_or_path: "/home/someone/llama" }), { purpose: "chat" }),
    );
    expect(elsewhere.message).toContain("not here");
    await expect(
      openTarget(writeAdapter({ base_model_name_or_path: null }), { purpose: "chat", base: STORIES }),
    ).resolves.toMatchObject({
      plan: {
        task: "causal-lm",
        model: { base: STORIES },
        lora: { r: 4, target_modules: ["model.layers.0.self_attn.q_proj"] },
      },
    });

    const noRecipe = await failure(openTarget(writeAdapter({}), { purpose: "evaluate" }));
    expect(noRecipe.hint).toContain("--recipe");
  });

  it("refuses a Hub adapter that is only a pickle", async () => {
    fixture.hub.addRepo("someone/pickled", {
      "adapter_config.json": JSON.stringify(PEFT_DEFAULTS),
      "adapter_model.bin": "x",
    });
    const refused = await failure(downloadAdapter("someone/pickled", "main"));
    expect(refused).toMatchObject({ code: "adapter-pickle-only", exitCode: 2 });
  });

  it("a mistyped local path read as a Hub id says that no such folder is here either", async () => {
    const missing = await failure(openTarget("adapters/no-such-run", { purpose: "publish" }));
    expect(missing.code).toBe("hub-token-missing");
    expect(missing.message).toContain(`and there is no folder ${join(process.cwd(), "adapters/no-such-run")} here`);
  });

  it("model.adapter: a lora key that disagrees with the adapter is an error at its line", async () => {
    const adapter = writeAdapter({});
    const recipe = writeRecipe("causal-lm", `lora: {dropout: 0.1, r: 8}\n`);
    writeFileSync(recipe, readRecipe(recipe).replace("model: {", `model: {adapter: ${adapter}, `));
    const loaded = await loadRecipe(recipe);
    const error = await planFromAdapter(loaded, resolvePlan(loaded)).catch((e: unknown) => e);
    expect(isTuneError(error)).toBe(true);
    const problem = (error as { problems: Array<{ message: string; location?: { line?: number } }> }).problems[0];
    expect(problem?.message).toBe("lora.r is 8, but model.adapter has r 4");
    expect(problem?.location?.line).toBe(5);
    // tune validate says the same before anything is trained.
    expect(await failure(checkRecipe(recipe))).toMatchObject({
      code: "recipe-adapter-mismatch",
      message: "lora.r is 8, but model.adapter has r 4",
      exitCode: 2,
    });

    writeFileSync(recipe, readRecipe(recipe).replace("r: 8", "r: 4"));
    const agreeing = await loadRecipe(recipe);
    const plan = await planFromAdapter(agreeing, resolvePlan(agreeing));
    expect(plan.lora).toMatchObject({
      r: 4,
      alpha: 8,
      dropout: 0.1,
      target_modules: ["model.layers.0.self_attn.q_proj"],
    });
    expect(plan.model.adapter_source).toMatchObject({ source: "local", dir: adapter });
  });
});

function readRecipe(file: string): string {
  return readFileSync(file, "utf8");
}
