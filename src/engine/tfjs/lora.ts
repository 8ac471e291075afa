import * as tf from "@tensorflow/tfjs-core";
import { unsafeUniformIntDistribution, xoroshiro128plus } from "pure-rand";
import { ExitCode, TuneError } from "../../errors/index.js";
import type { RunPlan } from "../../recipe/index.js";
import type { LlamaConfig } from "./llama-config.js";
import type { LinearAdapter } from "./llama-model.js";

/** Linear modules of one Llama decoder layer, with [out, in] sizes. */
function layerModules(c: LlamaConfig): Array<[string, number, number]> {
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  return [
    ["self_attn.q_proj", q, c.hiddenSize],
    ["self_attn.k_proj", kv, c.hiddenSize],
    ["self_attn.v_proj", kv, c.hiddenSize],
    ["self_attn.o_proj", c.hiddenSize, q],
    ["mlp.gate_proj", c.intermediateSize, c.hiddenSize],
    ["mlp.up_proj", c.intermediateSize, c.hiddenSize],
    ["mlp.down_proj", c.hiddenSize, c.intermediateSize],
  ];
}

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
export function createLora(config: LlamaConfig, lora: RunPlan["lora"], seed: number): Lora {
  if (lora.dora || lora.bias !== "none" || lora.init !== "default") {
    throw TuneError.single({ code: "engine-unsupported", message: "the tfjs engine supports LoRA with bias: none, dora: false and init: default", hint: "Use engine: torch for DoRA, trained biases or other initialisations." }, ExitCode.user);
  }
  const wanted = lora.target_modules === "all-linear" ? null : new Set(lora.target_modules);
  const random = xoroshiro128plus(seed);
  const modules: LoraModule[] = [];
  for (let layer = 0; layer < config.layers; layer++) {
    for (const [name, out, input] of layerModules(config)) {
      const short = name.split(".")[1] as string;
      if (wanted && !wanted.has(short) && !wanted.has(name)) continue;
      const bound = 1 / Math.sqrt(input);
      const a = Float32Array.from({ length: lora.r * input }, () => ((unsafeUniformIntDistribution(0, 0xffffff, random) / 0xffffff) * 2 - 1) * bound);
      const module = `model.layers.${layer}.${name}`;
      modules.push({ module, a: tf.variable(tf.tensor2d(a, [lora.r, input]), true, `${module}.lora_A`), b: tf.variable(tf.zeros([out, lora.r]), true, `${module}.lora_B`) });
    }
  }
  const known = new Set(layerModules(config).flatMap(([name]) => [name, name.split(".")[1] as string]));
  const unknown = [...(wanted ?? [])].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw TuneError.single({ code: "lora-unknown-targets", message: `the tfjs engine cannot put LoRA on ${unknown.join(", ")}`, hint: "It adapts the decoder's linear layers (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj); use engine: torch for lm_head or embeddings." }, ExitCode.user);
  }
  if (modules.length === 0) {
    throw TuneError.single({ code: "lora-no-targets", message: `none of lora.target_modules (${String(lora.target_modules)}) is a linear module of this model`, hint: "Llama-family modules: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (or all-linear)." }, ExitCode.user);
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
        const x = dropoutSeed !== null && lora.dropout > 0 ? tf.dropout(input, lora.dropout, undefined, dropoutSeed + call++) : input;
        return tf.mul(tf.matMul(tf.matMul(x as tf.Tensor2D, found.a as tf.Tensor2D, false, true), found.b as tf.Tensor2D, false, true), scale) as tf.Tensor2D;
      };
    },
    variables: () => modules.flatMap((m) => [m.a, m.b]),
    dispose: () => modules.forEach((m) => tf.dispose([m.a, m.b])),
  };
}
