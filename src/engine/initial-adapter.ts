import { readFileSync } from "node:fs";
import { join } from "node:path";
import { unsafeUniformIntDistribution, xoroshiro128plus } from "pure-rand";
import { readPeftAdapter, writePeftAdapter } from "../adapter/index.js";
import { seededNormal } from "../builtin/index.js";
import { isTuneError } from "../errors/index.js";
import {
  classifierHead,
  isKnownModelType,
  linearModules,
  readModelConfig,
  type LinearModule,
  type ModelConfig,
} from "../model/index.js";
import type { RunPlan } from "../recipe/index.js";

/** One LoRA pair's starting values, [r, in] and [out, r], row-major. */
export interface LoraStart {
  module: string;
  a: Float32Array;
  aShape: [number, number];
  b: Float32Array;
  bShape: [number, number];
}

/** PEFT's rule: a target names a module exactly or is a dot-separated suffix of its name. */
function targets(module: string, target: string): boolean {
  return module === target || module.endsWith(`.${target}`);
}

/** The recipe's LoRA targets that name no linear module of this model (lm_head, embeddings, typos). */
export function unknownTargets(linear: readonly LinearModule[], lora: RunPlan["lora"]): string[] {
  if (lora.target_modules === "all-linear") return [];
  return lora.target_modules.filter((target) => !linear.some((m) => targets(m.module, target)));
}

/**
 * LoRA as PEFT initialises it by default, drawn from the seed: A Kaiming-uniform (a = sqrt 5, so
 * bounds ±1/sqrt(in)), B zeros, so training starts from the base model exactly. Plain numbers,
 * no tensor library: both engines start from these very values.
 */
export function drawLora(linear: readonly LinearModule[], lora: RunPlan["lora"], seed: number): LoraStart[] {
  const wanted = lora.target_modules === "all-linear" ? null : lora.target_modules;
  const random = xoroshiro128plus(seed);
  return linear
    .filter(({ module }) => !wanted || wanted.some((target) => targets(module, target)))
    .map(({ module, out, input }) => {
      const bound = 1 / Math.sqrt(input);
      const a = Float32Array.from(
        { length: lora.r * input },
        () => ((unsafeUniformIntDistribution(0, 0xffffff, random) / 0xffffff) * 2 - 1) * bound,
      );
      return { module, a, aShape: [lora.r, input], b: new Float32Array(out * lora.r), bShape: [out, lora.r] };
    });
}

/** The classification head's starting values from the seed: N(0, 0.02²) weights, zero biases, as transformers initialises them. */
export function initialHead(
  plan: RunPlan,
  config: ModelConfig,
): Array<{ name: string; shape: number[]; data: Float32Array }> {
  return classifierHead(config, plan.data.labels?.length ?? 0).map(({ name, shape, init }, i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return {
      name,
      shape,
      data: init === "normal" ? seededNormal(size, 0.02, plan.training.seed + 1 + i) : new Float32Array(size),
    };
  });
}

/**
 * `model.adapter`'s tensors as the adapter training starts from, in float32 under PEFT's names
 * (LoRA pairs, DoRA magnitudes, the head and trained biases), with the plan's config.
 */
function copyAdapter(plan: RunPlan, from: string, modelDir: string, dir: string): void {
  const adapter = readPeftAdapter(from);
  try {
    const shape = (name: string) => adapter.file.tensors.get(name)?.shape as number[];
    const local = (name: string) => name.replace(/^base_model\.model\./, "");
    writePeftAdapter(
      dir,
      plan,
      {
        lora: [...adapter.lora].map(([module, pair]) => ({
          module,
          a: adapter.file.readFloat32(pair.a),
          aShape: shape(pair.a) as [number, number],
          b: adapter.file.readFloat32(pair.b),
          bShape: shape(pair.b) as [number, number],
        })),
        saved: [
          ...[...adapter.lora.values()].flatMap((pair) => (pair.magnitude ? [pair.magnitude] : [])),
          ...adapter.whole.values(),
        ].map((name) => ({ name: local(name), data: adapter.file.readFloat32(name), shape: shape(name) })),
      },
      modelDir,
    );
  } finally {
    adapter.close();
  }
}

/**
 * Writes the adapter training starts from (`model.adapter`'s tensors, or LoRA and head from the seed) into `dir`, so the two
 * engines' runs start from the same weights and are comparable step for step. Null where the
 * draw above is not what PEFT would do: a model family tune does not describe, DoRA, trained
 * biases, another `lora.init`, targets outside the linear modules, or a config the tfjs engine
 * cannot read; PEFT then initialises
 * the adapter itself, from the same seed.
 */
export function writeInitialAdapter(plan: RunPlan, modelDir: string, dir: string): string | null {
  const { lora } = plan;
  if (plan.model.adapter_source) {
    copyAdapter(plan, plan.model.adapter_source.dir, modelDir, dir);
    return dir;
  }
  if (lora.dora || lora.bias !== "none" || lora.init !== "default") return null;
  const modelType = (JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8")) as { model_type?: unknown })
    .model_type;
  if (!isKnownModelType(modelType)) return null;
  let config: ModelConfig;
  try {
    config = readModelConfig(modelDir);
  } catch (error) {
    // A config the tfjs engine cannot run (a rope scaling it lacks, say) is still the torch
    // engine's to train: PEFT draws the adapter then.
    if (isTuneError(error)) return null;
    throw error;
  }
  const linear = linearModules(config);
  if (unknownTargets(linear, lora).length > 0) return null;
  writePeftAdapter(
    dir,
    plan,
    {
      lora: drawLora(linear, lora, plan.training.seed),
      saved: plan.task === "sequence-classification" ? initialHead(plan, config) : [],
    },
    modelDir,
  );
  return dir;
}
