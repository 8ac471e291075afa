import * as tf from "@tensorflow/tfjs-core";
import { ExitCode, TuneError } from "../../errors/index.js";
import type { RunPlan } from "../../recipe/index.js";
import type { LinearModule } from "../../model/index.js";
import { drawLora, unknownTargets } from "../initial-adapter.js";
import type { LinearAdapter } from "./model.js";

export interface LoraModule {
  /** transformers module name, e.g. model.layers.0.self_attn.q_proj */
  module: string;
  a: tf.Variable;
  b: tf.Variable;
  /** alpha/r (alpha/sqrt(r) with rslora); per module where an adapter has rank or alpha patterns. */
  scale: number;
}

export interface Lora {
  modules: LoraModule[];
  dropout: number;
  /** The adapter hook for LlamaModel.hidden; `dropoutSeed` null means evaluation (no dropout). */
  adapter(dropoutSeed: number | null): LinearAdapter;
  variables(): tf.Variable[];
  dispose(): void;
}

/**
 * LoRA on the recipe's target modules, starting from drawLora's values (PEFT's default init).
 * The update is B(A(dropout(x))) · alpha/r (alpha/sqrt(r) with rslora).
 */
export function createLora(linear: readonly LinearModule[], lora: RunPlan["lora"], seed: number): Lora {
  if (lora.dora || lora.bias !== "none" || lora.init !== "default") {
    throw TuneError.single(
      {
        code: "engine-unsupported",
        message: "the tfjs engine supports LoRA with bias: none, dora: false and init: default",
        hint: "Use engine: torch for DoRA, trained biases or other initialisations.",
      },
      ExitCode.user,
    );
  }
  const unknown = unknownTargets(linear, lora);
  if (unknown.length > 0) {
    const names = [...new Set(linear.map((m) => m.module.split(".").at(-1) as string))].join(", ");
    throw TuneError.single(
      {
        code: "lora-unknown-targets",
        message: `the tfjs engine cannot put LoRA on ${unknown.join(", ")}: this model has no such linear module`,
        hint: `It adapts ${names} (or all-linear); use engine: torch for lm_head or embeddings.`,
      },
      ExitCode.user,
    );
  }
  const scale = lora.rslora ? lora.alpha / Math.sqrt(lora.r) : lora.alpha / lora.r;
  const modules: LoraModule[] = drawLora(linear, lora, seed).map(({ module, a, aShape, b, bShape }) => ({
    module,
    a: tf.variable(tf.tensor2d(a, aShape), true, `${module}.lora_A`),
    b: tf.variable(tf.tensor2d(b, bShape), true, `${module}.lora_B`),
    scale,
  }));
  const byName = new Map(modules.map((m) => [m.module, m]));
  return {
    modules,
    dropout: lora.dropout,
    adapter(dropoutSeed) {
      let call = 0;
      return (module, input) => {
        const found = byName.get(module);
        if (!found) return null;
        const x =
          dropoutSeed !== null && lora.dropout > 0
            ? tf.dropout(input, lora.dropout, undefined, dropoutSeed + call++)
            : input;
        return tf.mul(
          tf.matMul(
            tf.matMul(x as tf.Tensor2D, found.a as tf.Tensor2D, false, true),
            found.b as tf.Tensor2D,
            false,
            true,
          ),
          found.scale,
        ) as tf.Tensor2D;
      };
    },
    variables: () => modules.flatMap((m) => [m.a, m.b]),
    dispose: () => modules.forEach((m) => tf.dispose([m.a, m.b])),
  };
}
