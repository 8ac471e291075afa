import * as tf from "@tensorflow/tfjs-core";
import { unsafeUniformIntDistribution, type RandomGenerator } from "pure-rand";
import type { KvCache, LinearAdapter, TfjsModel } from "./model.js";

export interface GenerateOptions {
  maxNewTokens: number;
  /** Token ids that end an answer (not included in it). */
  stopIds: ReadonlySet<number>;
  /** 0 is greedy decoding. */
  temperature: number;
  topP: number;
  /** Needed when temperature > 0. */
  random?: RandomGenerator;
  adapt?: LinearAdapter;
  /** Ends a row early once its answer so far satisfies this (a stop string was written). */
  done?: (generated: readonly number[]) => boolean;
}

/**
 * Continues each prompt until a stop token, `done` or maxNewTokens: prompts are left-padded
 * into one batch, run once, then one token per row per step against a key/value cache, so a
 * step costs one position, not the whole sequence. Returns the new ids of each row.
 */
export function generate(
  model: TfjsModel,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
): number[][] {
  if (!model.decode) throw new Error("this model does not generate text");
  const longest = Math.max(...prompts.map((p) => p.length));
  const ids = prompts.map((p) => [...new Array<number>(longest - p.length).fill(model.padTokenId), ...p]);
  const mask = prompts.map((p) => [...new Array<number>(longest - p.length).fill(0), ...p.map(() => 1)]);
  const generated: number[][] = prompts.map(() => []);
  const finished = prompts.map(() => false);
  let cache: KvCache | null = null;
  let input = ids;
  let inputMask = mask;
  for (let step = 0; step < options.maxNewTokens && finished.includes(false); step++) {
    const out: { logits: tf.Tensor2D; cache: KvCache } = model.decode(input, inputMask, cache, options.adapt);
    if (cache) tf.dispose([...cache.keys, ...cache.values]);
    cache = out.cache;
    const logits = out.logits.arraySync();
    out.logits.dispose();
    const next = logits.map((row) => pickToken(row, options));
    next.forEach((token, b) => {
      if (finished[b]) return;
      if (options.stopIds.has(token)) finished[b] = true;
      else {
        (generated[b] as number[]).push(token);
        if (options.done?.(generated[b] as number[])) finished[b] = true;
      }
    });
    input = next.map((token) => [token]);
    inputMask = next.map(() => [1]);
  }
  if (cache) tf.dispose([...cache.keys, ...cache.values]);
  return generated;
}

/** Argmax (first maximum, as torch.argmax), or a seeded draw from the top-p nucleus at the temperature. */
function pickToken(logits: number[], options: GenerateOptions): number {
  if (options.temperature === 0 || !options.random) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if ((logits[i] as number) > (logits[best] as number)) best = i;
    return best;
  }
  const scaled = logits.map((l) => l / options.temperature);
  const max = Math.max(...scaled);
  const weights = scaled.map((l) => Math.exp(l - max));
  const total = weights.reduce((a, b) => a + b, 0);
  const order = weights.map((w, i) => [w / total, i] as const).sort((a, b) => b[0] - a[0]);
  const nucleus: Array<readonly [number, number]> = [];
  let mass = 0;
  for (const entry of order) {
    nucleus.push(entry);
    mass += entry[0];
    if (mass >= options.topP) break;
  }
  let draw = (unsafeUniformIntDistribution(0, 0x3fffffff, options.random) / 0x40000000) * mass;
  for (const [p, token] of nucleus) {
    draw -= p;
    if (draw <= 0) return token;
  }
  return (nucleus.at(-1) as readonly [number, number])[1];
}
