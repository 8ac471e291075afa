import * as tf from "@tensorflow/tfjs-core";
import { readPeftAdapter } from "../../adapter/index.js";
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

/**
 * Sets LoRA and head weights from an adapter folder as PEFT names them (a tune checkpoint or any
 * PEFT adapter; F32, F16 or BF16). Each module takes its own rank and scale from the adapter
 * (PEFT's rank_pattern and alpha_pattern): a module whose rank differs from the plan's gets new
 * variables, which only prediction and chat meet (training from an adapter with rank patterns is
 * refused, so the optimizer never holds a replaced variable).
 */
export function restoreAdapter(checkpoint: string, adapted: AdaptedModel): void {
  const adapter = readPeftAdapter(checkpoint);
  try {
    const tensor = (name: string) => {
      const info = adapter.file.tensors.get(name);
      if (!info) throw missing(checkpoint, name);
      return tf.tensor(adapter.file.readFloat32(name).slice(), info.shape);
    };
    const restore = (variable: tf.Variable, name: string) => {
      const value = tensor(name);
      if (value.shape.join("x") === variable.shape.join("x")) {
        variable.assign(value);
        value.dispose();
        return variable;
      }
      variable.dispose();
      return tf.variable(value, true, variable.name);
    };
    const planned = new Set(adapted.lora.modules.map((m) => m.module));
    const extra = [...adapter.lora.keys()].find((module) => !planned.has(module));
    if (extra) throw missing(checkpoint, `${extra} (adapted by the file, not by the plan)`);
    for (const m of adapted.lora.modules) {
      const pair = adapter.lora.get(m.module);
      if (!pair) throw missing(checkpoint, `base_model.model.${m.module}.lora_A.weight`);
      m.a = restore(m.a, pair.a);
      m.b = restore(m.b, pair.b);
      m.scale = pair.scale;
    }
    for (const [name, variable] of adapted.head) adapted.head.set(name, restore(variable, `base_model.model.${name}`));
  } finally {
    adapter.close();
  }
}

function missing(checkpoint: string, name: string): TuneError {
  return TuneError.single(
    {
      code: "adapter-invalid",
      message: `${checkpoint} does not fit the plan: ${name} is missing from its adapter_model.safetensors`,
      location: { file: checkpoint },
      hint: "Save the adapter again, or check that the recipe's task and the base model are the ones it was trained for.",
    },
    ExitCode.user,
  );
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
