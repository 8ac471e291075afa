import * as tf from "@tensorflow/tfjs-core";
import { openModelWeights } from "../../adapter/index.js";
import { readLlamaConfig, type LlamaConfig } from "./llama-config.js";

/** A frozen weight as a tfjs tensor, kept under its transformers name. */
type Weights = Map<string, tf.Tensor>;

/** Given a linear module's name and input, the update to add to its output, or null for none. */
export type LinearAdapter = (module: string, input: tf.Tensor2D) => tf.Tensor2D | null;

export interface LlamaModel {
  config: LlamaConfig;
  weights: Weights;
  /**
   * Token embeddings [batch, time, hidden]. Kept apart from `hidden` so training looks them up
   * outside the gradient tape, which would otherwise keep a copy of the whole table every step.
   */
  embed(ids: tf.Tensor2D): tf.Tensor3D;
  /**
   * Final hidden states [batch, time, hidden] from embeddings of right-padded ids; `mask` is 1
   * for real tokens. `adapt` adds a trainable update to a linear module's output (LoRA).
   */
  hidden(embeddings: tf.Tensor3D, mask: tf.Tensor2D, adapt?: LinearAdapter): tf.Tensor3D;
  /** Next-token logits [batch, time, vocab] (tied or separate LM head). */
  lmLogits(hidden: tf.Tensor3D): tf.Tensor3D;
  /**
   * Classifier logits [batch, labels] from the hidden state of each row's last non-pad token,
   * found as transformers' *ForSequenceClassification finds it.
   */
  classLogits(hidden: tf.Tensor3D, ids: readonly (readonly number[])[], score: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/**
 * Loads a Llama-family model folder (config.json + safetensors) into frozen tfjs tensors and
 * computes the forward pass as transformers does: RMSNorm, rotary embeddings, grouped-query
 * attention with a causal and padding mask, SwiGLU. Ops were chosen to have gradients on the
 * cpu and wasm backends (split instead of strided slices, no einsum, one-hot sums instead of
 * gathers from intermediates).
 */
export function loadLlamaModel(dir: string): LlamaModel {
  const config = readLlamaConfig(dir);
  const source = openModelWeights(dir);
  const weights: Weights = new Map();
  try {
    for (const name of source.names) {
      if (name.endsWith("rotary_emb.inv_freq")) continue;
      weights.set(name, tf.tensor(source.readFloat32(name), source.info(name).shape));
    }
  } finally {
    source.close();
  }
  const w = (name: string) => {
    const tensor = weights.get(name);
    if (!tensor) throw new Error(`the model has no weight ${name}`);
    return tensor;
  };
  const frozen = new Map<string, (x: tf.Tensor2D) => tf.Tensor2D>();
  const transposed: tf.Tensor[] = [];
  const frozenProduct = (name: string) => {
    let product = frozen.get(name);
    if (!product) {
      product = frozenMatMul(w(name) as tf.Tensor2D);
      frozen.set(name, product);
    }
    return product;
  };
  // Transpose every matrix the forward pass multiplies by once, at load, not during a step.
  for (const name of weights.keys()) {
    if (name.endsWith("_proj.weight") || name === "lm_head.weight" || (name === "model.embed_tokens.weight" && config.tieWordEmbeddings)) frozenProduct(name);
  }
  let adapter: LinearAdapter | undefined;
  const linear = (x: tf.Tensor2D, name: string): tf.Tensor2D => {
    let out = frozenProduct(`${name}.weight`)(x);
    if (weights.has(`${name}.bias`)) out = tf.add(out, w(`${name}.bias`)) as tf.Tensor2D;
    const update = adapter?.(name, x);
    return update ? (tf.add(out, update) as tf.Tensor2D) : out;
  };
  const rmsNorm = (x: tf.Tensor, name: string) =>
    tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), config.rmsNormEps))), w(`${name}.weight`));

  return {
    config,
    weights,
    embed(ids) {
      const [batch, time] = ids.shape;
      return tf.reshape(tf.gather(w("model.embed_tokens.weight"), tf.reshape(ids, [-1])), [batch, time, config.hiddenSize]);
    },
    hidden(embeddings, mask, adapt) {
      adapter = adapt;
      const [batch, time] = embeddings.shape;
      const { heads, kvHeads, headDim, hiddenSize } = config;
      const [cos, sin] = rotary(time, headDim, config.ropeTheta);
      const additiveMask = attentionMask(mask, time);
      let x = tf.reshape(embeddings, [batch * time, hiddenSize]) as tf.Tensor2D;
      for (let layer = 0; layer < config.layers; layer++) {
        const p = `model.layers.${layer}`;
        const normed = rmsNorm(x, `${p}.input_layernorm`) as tf.Tensor2D;
        const split = (t: tf.Tensor, n: number) => tf.transpose(tf.reshape(t, [batch, time, n, headDim]), [0, 2, 1, 3]);
        const q = applyRotary(split(linear(normed, `${p}.self_attn.q_proj`), heads), cos, sin);
        const k = repeatKv(applyRotary(split(linear(normed, `${p}.self_attn.k_proj`), kvHeads), cos, sin), heads / kvHeads);
        const v = repeatKv(split(linear(normed, `${p}.self_attn.v_proj`), kvHeads), heads / kvHeads);
        const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(headDim)), additiveMask);
        const attended = tf.matMul(tf.softmax(scores), v);
        const merged = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [batch * time, heads * headDim]) as tf.Tensor2D;
        x = tf.add(x, linear(merged, `${p}.self_attn.o_proj`));
        const normed2 = rmsNorm(x, `${p}.post_attention_layernorm`) as tf.Tensor2D;
        const gate = linear(normed2, `${p}.mlp.gate_proj`);
        const gated = tf.mul(tf.mul(gate, tf.sigmoid(gate)), linear(normed2, `${p}.mlp.up_proj`)) as tf.Tensor2D;
        x = tf.add(x, linear(gated, `${p}.mlp.down_proj`));
      }
      return tf.reshape(rmsNorm(x, "model.norm"), [batch, time, hiddenSize]);
    },
    lmLogits(hidden) {
      const [batch, time, size] = hidden.shape;
      const head = config.tieWordEmbeddings || !weights.has("lm_head.weight") ? "model.embed_tokens.weight" : "lm_head.weight";
      return tf.reshape(frozenProduct(head)(tf.reshape(hidden, [batch * time, size]) as tf.Tensor2D), [batch, time, config.vocabSize]);
    },
    classLogits(hidden, ids, score) {
      const [batch, time] = hidden.shape;
      const pick = new Float32Array(batch * time);
      ids.forEach((row, b) => (pick[b * time + lastNonPad(row, config.padTokenId)] = 1));
      // A one-hot sum rather than a gather: its gradient needs no UnsortedSegmentSum (absent on wasm).
      const pooled = tf.sum(tf.mul(hidden, tf.tensor3d(pick, [batch, time, 1])), 1) as tf.Tensor2D;
      return tf.matMul(pooled, score, false, true);
    },
    dispose: () => {
      weights.forEach((t) => t.dispose());
      transposed.forEach((t) => t.dispose());
    },
  };

  /**
   * x · Wᵀ for a frozen W [out, in]. tfjs-wasm multiplies a transposed operand several times
   * slower, so Wᵀ is materialised once and the backward pass multiplies by W itself; a custom
   * gradient also keeps the tape from saving a copy of W each step. W gets no gradient.
   */
  function frozenMatMul(weight: tf.Tensor2D): (x: tf.Tensor2D) => tf.Tensor2D {
    const weightT = tf.keep(tf.transpose(weight));
    transposed.push(weightT);
    return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
      value: tf.matMul(args[0] as tf.Tensor2D, weightT),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [tf.matMul(dy as tf.Tensor2D, weight)],
    })) as unknown as (x: tf.Tensor2D) => tf.Tensor2D;
  }
}

/** cos and sin tables [time, headDim] of Llama's rotary embedding (halves concatenated). */
function rotary(time: number, headDim: number, theta: number): [tf.Tensor2D, tf.Tensor2D] {
  const half = headDim / 2;
  const cos = new Float32Array(time * headDim);
  const sin = new Float32Array(time * headDim);
  for (let t = 0; t < time; t++) {
    for (let i = 0; i < half; i++) {
      // float32 inverse frequencies, as transformers computes them
      const angle = Math.fround(t * Math.fround(1 / Math.fround(theta ** ((2 * i) / headDim))));
      for (const j of [i, i + half]) {
        cos[t * headDim + j] = Math.cos(angle);
        sin[t * headDim + j] = Math.sin(angle);
      }
    }
  }
  return [tf.tensor2d(cos, [time, headDim]), tf.tensor2d(sin, [time, headDim])];
}

/** x * cos + rotate_half(x) * sin, where rotate_half(x) = [-x2, x1]. */
function applyRotary(x: tf.Tensor, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor {
  const [x1, x2] = tf.split(x, 2, -1) as [tf.Tensor, tf.Tensor];
  return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(x2), x1], -1), sin));
}

/** Grouped-query attention: each key/value head serves `times` query heads. */
function repeatKv(x: tf.Tensor, times: number): tf.Tensor {
  if (times === 1) return x;
  const [batch, kvHeads, time, headDim] = x.shape as [number, number, number, number];
  // Rank-3 tile: tfjs has no gradient for tiling rank-5 tensors.
  return tf.reshape(tf.tile(tf.reshape(x, [batch * kvHeads, 1, time * headDim]), [1, times, 1]), [batch, kvHeads * times, time, headDim]);
}

/** Causal plus key-padding mask as an additive [batch, 1, time, time] tensor. */
function attentionMask(mask: tf.Tensor2D, time: number): tf.Tensor {
  const causal = tf.linalg.bandPart(tf.ones([time, time]), -1, 0);
  const keys = tf.reshape(mask, [mask.shape[0], 1, 1, time]);
  const allowed = tf.mul(causal, keys);
  return tf.mul(tf.sub(1, allowed), -1e9);
}

/** transformers: the highest position whose token is not the pad token (0 when all are). */
export function lastNonPad(row: readonly number[], padTokenId: number | null): number {
  if (padTokenId === null) return row.length - 1;
  let last = 0;
  row.forEach((id, position) => {
    if (id !== padTokenId) last = position;
  });
  return last;
}
