import { existsSync } from "node:fs";
import { join } from "node:path";
import type { RunPlan } from "../recipe/index.js";
import { readAdapterConfig } from "./adapter-config.js";
import { openModelWeights, openSafetensors } from "./safetensors/index.js";

/**
 * Why a checkpoint's adapter does not belong to this plan and base model, or null: its
 * adapter_config.json must carry the plan's LoRA shape, every lora_A/lora_B pair must fit the
 * base weight it adapts ([r, in] and [out, r] for an [out, in] weight), and every value must be
 * finite (a NaN from a diverged step would otherwise be resumed, evaluated or pushed).
 */
export function adapterProblem(plan: RunPlan, checkpoint: string, baseModelDir: string): string | null {
  const configFile = join(checkpoint, "adapter_config.json");
  const tensorsFile = join(checkpoint, "adapter_model.safetensors");
  if (!existsSync(configFile) || !existsSync(tensorsFile))
    return "adapter_config.json or adapter_model.safetensors is missing";
  const config = readAdapterConfig(checkpoint) as unknown as Record<string, unknown>;
  const expected: Record<string, unknown> = {
    r: plan.lora.r,
    lora_alpha: plan.lora.alpha,
    use_rslora: plan.lora.rslora,
    use_dora: plan.lora.dora,
    task_type: plan.lora.task_type,
    peft_type: "LORA",
  };
  for (const [key, value] of Object.entries(expected)) {
    if (config[key] !== value)
      return `adapter_config.json has ${key} ${JSON.stringify(config[key])}, the recipe ${JSON.stringify(value)}`;
  }
  const adapter = openSafetensors(tensorsFile);
  const base = openModelWeights(baseModelDir);
  try {
    for (const [name, info] of adapter.tensors) {
      const values = adapter.readFloat32(name);
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i])) return `${name} holds a non-finite value (${values[i]}) at index ${i}`;
      }
      const lora = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/.exec(name);
      if (!lora) continue;
      const [, module, which] = lora as unknown as [string, string, "A" | "B"];
      const weight = baseWeightShape(base, `${module}.weight`);
      if (!weight) return `${name} adapts ${module}, which the base model does not have`;
      const [out, input] = weight;
      const want = which === "A" ? [plan.lora.r, input] : [out, plan.lora.r];
      if (info.shape.join("x") !== want.join("x"))
        return `${name} has shape [${info.shape.join(", ")}], the base model needs [${want.join(", ")}]`;
    }
    return null;
  } finally {
    adapter.close();
    base.close();
  }
}

/** A base weight's shape under its *For<Task> name or its base-model name (`bert.x` is `x` in a BertModel folder). */
function baseWeightShape(base: ReturnType<typeof openModelWeights>, name: string): number[] | null {
  for (const candidate of [name, name.split(".").slice(1).join(".")]) {
    if (base.names.includes(candidate)) return base.info(candidate).shape;
  }
  return null;
}
