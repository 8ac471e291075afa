import { existsSync } from "node:fs";
import { join } from "node:path";
import type { RunPlan } from "../recipe/index.js";
import { readAdapterConfig } from "./adapter-config.js";
import { patternValues } from "./pattern-values.js";
import { openModelWeights, openSafetensors } from "./safetensors/index.js";

/** A classification head's output layer as PEFT saves it under modules_to_save: one row per label. */
const HEAD_OUTPUT = /^(score|classifier|classifier\.out_proj)\.weight$/;
const HEAD = /^(score|classifier)\./;
const LORA = /^(.+)\.lora_([AB])\.weight$/;

/** A tensor's name in the model, without PEFT's wrapper prefix. */
const adapterName = (name: string) => name.replace(/^base_model\.model\./, "");

/**
 * Why an adapter does not belong to this plan and base model, or null: its adapter_config.json
 * must carry the plan's LoRA shape, every lora_A/lora_B pair must fit the base weight it adapts
 * ([r, in] and [out, r] for an [out, in] weight, r from rank_pattern where PEFT set one per
 * module), a classifier's head must be there with one row per label (a head left out would be
 * drawn at random, and its predictions would mean nothing), other tensors saved whole must fit
 * the base's, and every value must be finite (a NaN from a diverged step would otherwise be
 * resumed, evaluated or pushed).
 */
export function adapterProblem(plan: RunPlan, checkpoint: string, baseModelDir: string): string | null {
  const configFile = join(checkpoint, "adapter_config.json");
  const tensorsFile = join(checkpoint, "adapter_model.safetensors");
  if (!existsSync(configFile) || !existsSync(tensorsFile))
    return "adapter_config.json or adapter_model.safetensors is missing";
  const config = readAdapterConfig(checkpoint);
  const expected: Array<[string, unknown, unknown]> = [
    ["r", config.r, plan.lora.r],
    ["lora_alpha", config.lora_alpha, plan.lora.alpha],
    ["use_rslora", config.use_rslora ?? false, plan.lora.rslora],
    ["use_dora", config.use_dora ?? false, plan.lora.dora],
    // PEFT leaves task_type null when the trainer never named one: the recipe says what it is for.
    ["task_type", config.task_type ?? plan.lora.task_type, plan.lora.task_type],
    ["peft_type", config.peft_type, "LORA"],
  ];
  for (const [key, found, want] of expected) {
    if (found !== want)
      return `adapter_config.json has ${key} ${JSON.stringify(found)}, the recipe ${JSON.stringify(want)}`;
  }
  const adapter = openSafetensors(tensorsFile);
  const base = openModelWeights(baseModelDir);
  try {
    const modules = [...adapter.tensors.keys()].flatMap((name) => LORA.exec(adapterName(name))?.[1] ?? []);
    const ranks = patternValues(config.rank_pattern, "rank_pattern", modules);
    if (typeof ranks === "string") return ranks;
    let headRows: number | null = null;
    for (const [name, info] of adapter.tensors) {
      const values = adapter.readFloat32(name);
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i])) return `${name} holds a non-finite value (${values[i]}) at index ${i}`;
      }
      const local = adapterName(name);
      const lora = LORA.exec(local);
      if (!lora) {
        if (HEAD_OUTPUT.test(local)) headRows = info.shape[0] ?? 0;
        if (HEAD.test(local) || /\.lora_magnitude_vector/.test(local)) continue;
        const whole = baseWeightShape(base, local);
        if (whole && whole.join("x") !== info.shape.join("x"))
          return `${name} has shape [${info.shape.join(", ")}], the base model's ${local} [${whole.join(", ")}]`;
        continue;
      }
      const [, module, which] = lora as unknown as [string, string, "A" | "B"];
      const weight = baseWeightShape(base, `${module}.weight`);
      if (!weight) return `${name} adapts ${module}, which the base model does not have`;
      if (weight.length !== 2) return `${name} adapts ${module}, which is not a linear layer`;
      const [out, input] = weight;
      const rank = ranks.get(module) ?? plan.lora.r;
      const want = which === "A" ? [rank, input] : [out, rank];
      if (info.shape.join("x") !== want.join("x"))
        return `${name} has shape [${info.shape.join(", ")}], the base model needs [${want.join(", ")}]`;
    }
    const labels = plan.data.labels?.length ?? 0;
    if (plan.task === "sequence-classification") {
      if (headRows === null)
        return "it has no classification head (score.weight or classifier.weight, saved through modules_to_save): evaluated, it would classify with a randomly drawn head";
      if (headRows !== labels)
        return `its classification head has ${headRows} outputs, the recipe ${labels} labels (${plan.data.labels?.join(", ")})`;
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
