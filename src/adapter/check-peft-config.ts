import type { Task } from "../recipe/index.js";

/** What an adapter is read for: merged into weights (merge, push), or run by an engine (eval, predict, chat, training). */
export type AdapterUse = "merge" | "run";

/** One adapter_config.json field tune cannot honour, with why and what to do. */
export interface ConfigRefusal {
  field: string;
  message: string;
  hint: string;
}

const TASK_TYPES: Record<string, readonly Task[]> = {
  SEQ_CLS: ["sequence-classification"],
  CAUSAL_LM: ["causal-lm", "generative-classification"],
};

/** init_lora_weights values whose saved adapter only works on a base PEFT rewrote (residual or quantized weights). */
const BASE_REWRITING_INIT = /^(pissa|olora|corda|loftq)/i;

/**
 * Fields whose value never changes what a saved LoRA adapter computes: bookkeeping, the
 * initialisation (the saved tensors are what counts), and which modules are adapted (the tensors
 * in the file say that, whatever rule chose them).
 */
const HARMLESS = new Set([
  "peft_type",
  "task_type",
  "base_model_name_or_path",
  "revision",
  "r",
  "lora_alpha",
  "lora_dropout",
  "target_modules",
  "exclude_modules",
  "layers_to_transform",
  "layers_pattern",
  "modules_to_save",
  "bias",
  "use_rslora",
  "use_dora",
  "fan_in_fan_out",
  "rank_pattern",
  "alpha_pattern",
  "init_lora_weights",
  "inference_mode",
  "auto_mapping",
  "peft_version",
  "loftq_config",
  "eva_config",
  "corda_config",
  "lora_ga_config",
  "ensure_weight_tying",
  "megatron_core",
  "qalora_group_size",
]);

/** Fields naming a variant that changes the forward pass or the model's structure; refused whenever set. */
const CHANGES_COMPUTATION: Record<string, string> = {
  lora_bias: "a bias on lora_B",
  use_qalora: "QALoRA's pooled inputs",
  target_parameters: "LoRA on parameters rather than modules (MoE experts)",
  trainable_token_indices: "trained rows of the embedding",
  layer_replication: "replicated layers",
  megatron_config: "Megatron's parallel layers",
  alora_invocation_tokens: "activated LoRA (applied only after its invocation tokens)",
  arrow_config: "Arrow routing between adapters",
  use_bdlora: "block-diagonal LoRA",
  monteclora_config: "MonteCLoRA's sampled weights",
  kasa_config: "KaSA's singular-value adaptation",
  velora_config: "VeLoRA's compressed activations",
};

function isUnset(value: unknown): boolean {
  return (
    value === null ||
    value === undefined ||
    value === false ||
    (Array.isArray(value) && value.length === 0) ||
    (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0)
  );
}

/**
 * What in an adapter_config.json (PEFT's LoraConfig, as any trainer writes it) tune cannot honour
 * for `use`, and for `task` when a recipe says what the adapter is for. Each refusal names the
 * field. Known variants that change the computation are refused when set; a field tune does not
 * know is refused when set, since it may be one (and accepted at its default).
 */
export function peftConfigRefusals(config: Record<string, unknown>, use: AdapterUse, task?: Task): ConfigRefusal[] {
  const refusals: ConfigRefusal[] = [];
  const refuse = (field: string, message: string, hint: string) => refusals.push({ field, message, hint });
  if (config.peft_type !== "LORA")
    refuse(
      "peft_type",
      `peft_type is ${JSON.stringify(config.peft_type ?? null)}; tune reads LoRA adapters (with DoRA and rsLoRA)`,
      "Use a LoRA adapter, or load this one with PEFT itself.",
    );
  const taskType = config.task_type ?? null;
  if (taskType !== null && !(typeof taskType === "string" && taskType in TASK_TYPES))
    refuse(
      "task_type",
      `task_type ${JSON.stringify(taskType)} is neither SEQ_CLS nor CAUSAL_LM`,
      "tune runs sequence classifiers and causal language models.",
    );
  else if (taskType !== null && task && !TASK_TYPES[taskType as string]?.includes(task))
    refuse(
      "task_type",
      `task_type ${taskType} does not fit the recipe's task ${task}`,
      taskType === "SEQ_CLS"
        ? "This adapter is a classifier with its own head: use a recipe with task sequence-classification."
        : "This adapter adapts a language model: use a recipe with task causal-lm or generative-classification.",
    );
  if (task === "prompting")
    refuse(
      "task_type",
      "a prompting recipe trains nothing and reads no adapter",
      "Use a recipe with task sequence-classification, causal-lm or generative-classification.",
    );
  if (typeof config.init_lora_weights === "string" && BASE_REWRITING_INIT.test(config.init_lora_weights))
    refuse(
      "init_lora_weights",
      `init_lora_weights ${config.init_lora_weights} means the adapter was trained on base weights PEFT rewrote, which the saved base does not have`,
      "Convert it to a plain LoRA with PEFT first (save_pretrained(..., path_initial_model_for_weight_conversion=...)).",
    );
  if (use === "run" && config.fan_in_fan_out === true)
    refuse(
      "fan_in_fan_out",
      "fan_in_fan_out is true: the adapted layers store their weights transposed (GPT-2's Conv1D), which neither engine runs here",
      "Merge it with `tune merge` (which handles it) and use the merged model, or use PEFT itself.",
    );
  if (!["none", "all", "lora_only", undefined].includes(config.bias as string | undefined))
    refuse(
      "bias",
      `bias ${JSON.stringify(config.bias)} is not none, all or lora_only`,
      "Save the adapter again with PEFT.",
    );
  for (const field of ["rank_pattern", "alpha_pattern"]) {
    for (const key of Object.keys((config[field] ?? {}) as Record<string, unknown>)) {
      try {
        new RegExp(key);
      } catch {
        refuse(
          field,
          `${field} key ${JSON.stringify(key)} is not a regular expression`,
          "Save the adapter again with PEFT.",
        );
      }
    }
  }
  for (const [field, what] of Object.entries(CHANGES_COMPUTATION)) {
    if (!isUnset(config[field]))
      refuse(
        field,
        `${field} is set: ${what} changes what the adapter computes, and tune does not implement it`,
        "Use PEFT itself for this adapter.",
      );
  }
  for (const [field, value] of Object.entries(config)) {
    if (HARMLESS.has(field) || field in CHANGES_COMPUTATION || isUnset(value)) continue;
    refuse(
      field,
      `${field} is set to ${JSON.stringify(value)}, a PEFT field tune does not know; it may change what the adapter computes`,
      "Use PEFT itself for this adapter, or remove the field if you know it does not matter.",
    );
  }
  return refusals;
}
