import { join } from "node:path";
import { makeFolders, writeFileAtomic } from "../files/index.js";
import type { RunPlan } from "../recipe/index.js";
import { writeSafetensors, type TensorToWrite } from "./safetensors/index.js";

export interface AdapterTensors {
  /** LoRA matrices by transformers module name (e.g. model.layers.0.self_attn.q_proj). */
  lora: Array<{ module: string; a: Float32Array; aShape: [number, number]; b: Float32Array; bShape: [number, number] }>;
  /** Fully trained modules (the classification head) by transformers weight name, e.g. score.weight. */
  saved: Array<{ name: string; data: Float32Array; shape: number[] }>;
}

/**
 * Writes an adapter exactly as PEFT's save_pretrained does, so PeftModel.from_pretrained loads
 * it: adapter_config.json (sorted keys, indent 2) and adapter_model.safetensors with keys
 * `base_model.model.<module>.lora_A.weight` / `lora_B.weight` and `base_model.model.<name>`
 * for modules_to_save, float32, metadata {"format": "pt"}. `baseModelPath` is what
 * PeftConfig.base_model_name_or_path should load: the Hub id, or the model folder.
 */
export function writePeftAdapter(dir: string, plan: RunPlan, tensors: AdapterTensors, baseModelPath: string): void {
  makeFolders(dir);
  const entries: TensorToWrite[] = [];
  for (const { module, a, aShape, b, bShape } of tensors.lora) {
    entries.push({ name: `base_model.model.${module}.lora_A.weight`, dtype: "F32", shape: aShape, data: a });
    entries.push({ name: `base_model.model.${module}.lora_B.weight`, dtype: "F32", shape: bShape, data: b });
  }
  for (const { name, data, shape } of tensors.saved)
    entries.push({ name: `base_model.model.${name}`, dtype: "F32", shape, data });
  writeSafetensors(join(dir, "adapter_model.safetensors"), entries);

  // The recipe's own targets follow PEFT's matching rule (exact name or dotted suffix), so PEFT
  // adapts exactly the modules trained here; all-linear is written out as the names it chose.
  const targets =
    plan.lora.target_modules === "all-linear"
      ? [...new Set(tensors.lora.map((l) => l.module.split(".").at(-1) as string))].sort()
      : [...plan.lora.target_modules].sort();
  const modulesToSave =
    plan.task === "sequence-classification"
      ? [...new Set(["classifier", "score", ...plan.lora.modules_to_save])]
      : plan.lora.modules_to_save;
  const config: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModelPath,
    bias: plan.lora.bias,
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: plan.lora.alpha,
    lora_dropout: plan.lora.dropout,
    modules_to_save: modulesToSave.length > 0 ? modulesToSave : null,
    peft_type: "LORA",
    r: plan.lora.r,
    rank_pattern: {},
    revision: plan.model.revision === "main" ? null : plan.model.revision,
    target_modules: targets,
    task_type: plan.lora.task_type,
    use_dora: plan.lora.dora,
    use_rslora: plan.lora.rslora,
  };
  const sorted = Object.fromEntries(Object.entries(config).sort(([x], [y]) => (x < y ? -1 : 1)));
  writeFileAtomic(join(dir, "adapter_config.json"), `${JSON.stringify(sorted, null, 2)}\n`);
}
