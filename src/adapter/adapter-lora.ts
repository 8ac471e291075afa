import type { RunPlan } from "../recipe/index.js";
import type { PeftConfig } from "./adapter-config.js";

/** The head PEFT adds to modules_to_save for a classifier; the plan trains it without being told. */
const HEADS = new Set(["classifier", "score"]);

/**
 * The plan's LoRA section for an existing adapter: its shape as adapter_config.json records it.
 * The adapted modules are the ones its file holds, by full name (PEFT's rule matches a full name
 * exactly), so whatever chose them (a regular expression, layers_to_transform, exclude_modules,
 * all-linear) both engines adapt exactly those.
 */
export function loraFromAdapter(
  config: PeftConfig,
  modules: readonly string[],
  taskType: RunPlan["lora"]["task_type"],
): RunPlan["lora"] {
  return {
    r: config.r,
    alpha: config.lora_alpha,
    dropout: config.lora_dropout ?? 0,
    target_modules: [...modules].sort(),
    modules_to_save: (config.modules_to_save ?? []).filter((name) => !HEADS.has(name)),
    bias: (config.bias ?? "none") as RunPlan["lora"]["bias"],
    rslora: config.use_rslora ?? false,
    dora: config.use_dora ?? false,
    init: "default",
    task_type: taskType,
  };
}
