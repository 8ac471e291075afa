import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { openSafetensors } from "../../adapter/index.js";
import { ExitCode, TuneError } from "../../errors/index.js";
import type { RunPlan } from "../../recipe/index.js";
import { loadModel } from "./load-model.js";
import { createLora, type Lora } from "./lora.js";
import { linearModules, readModelConfig } from "../../model/index.js";
import { initialHead } from "../initial-adapter.js";
import type { TfjsModel } from "./model.js";

const OPTIMIZERS = new Set(["adamw", "paged_adamw_32bit"]);

/** A base model with the plan's LoRA and, for classifiers, its trainable head. */
export interface AdaptedModel {
  model: TfjsModel;
  lora: Lora;
  /** Classification head tensors by transformers name (empty for language-model tasks). */
  head: Map<string, tf.Variable>;
  classify: boolean;
  dispose(): void;
}

/** What the tfjs engine cannot do for a plan, known from the plan alone (the model family is checked on loading). */
export function tfjsRefuses(plan: RunPlan): string | null {
  if (plan.quantization) return "quantized base models need the torch engine";
  if (!OPTIMIZERS.has(plan.training.optimizer))
    return `optimizer ${plan.training.optimizer} is not available on the tfjs engine (adamw is)`;
  const extraModules = plan.lora.modules_to_save.filter((name) => name !== "score" && name !== "classifier");
  if (extraModules.length > 0)
    return `lora.modules_to_save ${extraModules.join(", ")} (only the classification head is trained in full)`;
  if (plan.distributed) return "distributed training needs the torch engine";
  if (plan.training.compile) return "training.compile runs torch.compile, on the torch engine";
  return null;
}

/**
 * Loads the model folder and attaches what the plan trains, freshly initialised from the seed
 * (LoRA as PEFT initialises it, the head as transformers does); refuses, before any weight is
 * loaded, what the tfjs engine cannot do.
 */
export function adaptedModel(plan: RunPlan, modelDir: string): AdaptedModel {
  const refused = tfjsRefuses(plan);
  if (refused) throw unsupported(refused);
  const config = readModelConfig(modelDir);
  const classify = plan.task === "sequence-classification";
  if (!classify && config.family !== "llama")
    throw unsupported(
      `a ${config.family} encoder has no language-model head for task ${plan.task}; use task sequence-classification`,
    );
  const lora = createLora(linearModules(config), plan.lora, plan.training.seed);
  const model = loadModel(modelDir);
  const head = new Map<string, tf.Variable>(
    classify
      ? initialHead(plan, config).map(({ name, shape, data }) => [
          name,
          tf.variable(tf.tensor(data, shape), true, name),
        ])
      : [],
  );
  return {
    model,
    lora,
    head,
    classify,
    dispose() {
      lora.dispose();
      tf.dispose([...head.values()]);
      model.dispose();
    },
  };
}

/** Sets LoRA and head weights from a checkpoint's adapter_model.safetensors. */
export function restoreAdapter(checkpoint: string, adapted: AdaptedModel): void {
  const adapter = openSafetensors(join(checkpoint, "adapter_model.safetensors"));
  try {
    const assign = (variable: tf.Variable, name: string) => {
      if (!adapter.tensors.has(name)) throw new Error(`${name} is missing from the adapter`);
      variable.assign(tf.tensor(adapter.readFloat32(name).slice(), variable.shape));
    };
    for (const m of adapted.lora.modules) {
      assign(m.a, `base_model.model.${m.module}.lora_A.weight`);
      assign(m.b, `base_model.model.${m.module}.lora_B.weight`);
    }
    for (const [name, variable] of adapted.head) assign(variable, `base_model.model.${name}`);
  } finally {
    adapter.close();
  }
}

export function unsupported(why: string): TuneError {
  return TuneError.single(
    {
      code: "tfjs-unsupported",
      message: `the tfjs engine cannot run this recipe: ${why}`,
      hint: "Use engine: torch, or change the recipe.",
    },
    ExitCode.user,
  );
}
