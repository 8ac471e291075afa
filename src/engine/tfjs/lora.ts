import * as tf from "@tensorflow/tfjs-core";
import { unsafeUniformIntDistribution, xoroshiro128plus } from "pure-rand";
import { ExitCode, TuneError } from "../../errors/index.js";
import type { RunPlan } from "../../recipe/index.js";
import type { LinearModule } from "./model-config.js";
import type { LinearAdapter } from "./model.js";

export interface LoraModule {
  /** transformers module name, e.g. model.layers.0.self_attn.q_proj */
  module: string;
  a: tf.Variable;
  b: tf.Variable;
}

export interface Lora {
  modules: LoraModule[];
  scale: number;
  dropout: number;
  /** The adapter hook for LlamaModel.hidden; `dropoutSeed` null means evaluation (no dropout). */
  adapter(dropoutSeed: number | null): LinearAdapter;
  variables(): tf.Variable[];
  dispose(): void;
}

/**
 * LoRA on the recipe's target modules, initialised as PEFT does: A Kaiming-uniform (a = sqrt 5,
 * so bounds ±1/sqrt(in)), B zeros, so training starts from the base model exactly.
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
  // PEFT's rule: a target names a module exactly or is a dot-separated suffix of its name.
  const matches = (module: string, target: string) => module === target || module.endsWith(`.${target}`);
  const targets = lora.target_modules === "all-linear" ? null : lora.target_modules;
  const names = [...new Set(linear.map((m) => m.module.split(".").at(-1) as string))].join(", ");
  const unknown = (targets ?? []).filter((target) => !linear.some((m) => matches(m.module, target)));
  if (unknown.length > 0) {
    throw TuneError.single(
      {
        code: "lora-unknown-targets",
        message: `the tfjs engine cannot put LoRA on ${unknown.join(", ")}: this model has no such linear module`,
        hint: `It adapts ${names} (or all-linear); use engine: torch for lm_head or embeddings.`,
      },
      ExitCode.user,
    );
  }
  const random = xoroshiro128plus(seed);
  const modules: LoraModule[] = [];
  for (const { module, out, input } of linear) {
    if (targets && !targets.some((target) => matches(module, target))) continue;
    const bound = 1 / Math.sqrt(input);
    const a = Float32Array.from(
      { length: lora.r * input },
      () => ((unsafeUniformIntDistribution(0, 0xffffff, random) / 0xffffff) * 2 - 1) * bound,
    );
    modules.push({
      module,
      a: tf.variable(tf.tensor2d(a, [lora.r, input]), true, `${module}.lora_A`),
      b: tf.variable(tf.zeros([out, lora.r]), true, `${module}.lora_B`),
    });
  }
  const byName = new Map(modules.map((m) => [m.module, m]));
  const scale = lora.rslora ? lora.alpha / Math.sqrt(lora.r) : lora.alpha / lora.r;
  return {
    modules,
    scale,
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
          scale,
        ) as tf.Tensor2D;
      };
    },
    variables: () => modules.flatMap((m) => [m.a, m.b]),
    dispose: () => modules.forEach((m) => tf.dispose([m.a, m.b])),
  };
}
