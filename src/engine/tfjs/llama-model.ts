import * as tf from "@tensorflow/tfjs-core";
import { additiveMask, loadFrozenWeights, pickPositions } from "./frozen-weights.js";
import { llamaLinearModules, type LlamaConfig } from "../../model/llama-config.js";
import { classifierHead } from "../../model/model-config.js";
import type { ForwardOptions, KvCache, LinearAdapter, TfjsModel } from "./model.js";

/**
 * Loads a Llama-family model folder (config.json + safetensors) into frozen tfjs tensors and
 * computes the forward pass as transformers does: RMSNorm, rotary embeddings, grouped-query
 * attention with a causal and padding mask, SwiGLU. Ops were chosen to have gradients on the
 * cpu and wasm backends (split instead of strided slices, no einsum, one-hot sums instead of
 * gathers from intermediates).
 */
export function loadLlamaModel(dir: string, config: { family: "llama" } & LlamaConfig): TfjsModel {
  const weights = loadFrozenWeights(dir, (name) => (name.endsWith("rotary_emb.inv_freq") ? null : name));
  const headName =
    config.tieWordEmbeddings || !weights.has("lm_head.weight") ? "model.embed_tokens.weight" : "lm_head.weight";
  // Transpose every matrix the forward pass multiplies by once, at load, not during a step.
  for (const { module } of llamaLinearModules(config)) weights.product(`${module}.weight`);
  weights.product(headName);

  const embed = (ids: tf.Tensor2D) => {
    const [batch, time] = ids.shape;
    return tf.reshape(tf.gather(weights.get("model.embed_tokens.weight"), tf.reshape(ids, [-1])), [
      batch,
      time,
      config.hiddenSize,
    ]) as tf.Tensor3D;
  };
  const linear = (x: tf.Tensor2D, name: string, adapt?: LinearAdapter): tf.Tensor2D => {
    let out = weights.product(`${name}.weight`)(x);
    if (weights.has(`${name}.bias`)) out = tf.add(out, weights.get(`${name}.bias`));
    const update = adapt?.(name, x);
    return update ? tf.add(out, update) : out;
  };
  const rmsNorm = (x: tf.Tensor, name: string) =>
    tf.mul(
      tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), config.rmsNormEps))),
      weights.get(`${name}.weight`),
    );

  /**
   * The decoder stack over `time` new positions per row, after `past` cached keys/values;
   * returns the final-norm hidden states and every layer's keys and values (past included).
   */
  const decoder = (
    embeddings: tf.Tensor3D,
    positions: number[][],
    mask: tf.Tensor,
    adapt: LinearAdapter | undefined,
    past: KvCache | null,
  ) => {
    const [batch, time] = embeddings.shape;
    const { heads, kvHeads, headDim, hiddenSize } = config;
    const [cos, sin] = rotary(positions, config.ropeInvFreq, headDim);
    const keys: tf.Tensor[] = [];
    const values: tf.Tensor[] = [];
    let x = tf.reshape(embeddings, [batch * time, hiddenSize]) as tf.Tensor2D;
    for (let layer = 0; layer < config.layers; layer++) {
      const p = `model.layers.${layer}`;
      const normed = rmsNorm(x, `${p}.input_layernorm`) as tf.Tensor2D;
      const split = (t: tf.Tensor, n: number) => tf.transpose(tf.reshape(t, [batch, time, n, headDim]), [0, 2, 1, 3]);
      const q = applyRotary(split(linear(normed, `${p}.self_attn.q_proj`, adapt), heads), cos, sin);
      let k = applyRotary(split(linear(normed, `${p}.self_attn.k_proj`, adapt), kvHeads), cos, sin);
      let v = split(linear(normed, `${p}.self_attn.v_proj`, adapt), kvHeads);
      if (past) {
        k = tf.concat([past.keys[layer] as tf.Tensor, k], 2);
        v = tf.concat([past.values[layer] as tf.Tensor, v], 2);
      }
      keys.push(k);
      values.push(v);
      const scores = tf.add(tf.div(tf.matMul(q, repeatKv(k, heads / kvHeads), false, true), Math.sqrt(headDim)), mask);
      const attended = tf.matMul(tf.softmax(scores), repeatKv(v, heads / kvHeads));
      const merged = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [batch * time, heads * headDim]) as tf.Tensor2D;
      x = tf.add(x, linear(merged, `${p}.self_attn.o_proj`, adapt));
      const normed2 = rmsNorm(x, `${p}.post_attention_layernorm`) as tf.Tensor2D;
      const gate = linear(normed2, `${p}.mlp.gate_proj`, adapt);
      const gated = tf.mul(tf.mul(gate, tf.sigmoid(gate)), linear(normed2, `${p}.mlp.up_proj`, adapt)) as tf.Tensor2D;
      x = tf.add(x, linear(gated, `${p}.mlp.down_proj`, adapt));
    }
    return { hidden: tf.reshape(rmsNorm(x, "model.norm"), [batch, time, hiddenSize]) as tf.Tensor3D, keys, values };
  };
  const lmLogits = (hidden: tf.Tensor3D) => {
    const [batch, time, size] = hidden.shape;
    return tf.reshape(weights.product(headName)(tf.reshape(hidden, [batch * time, size]) as tf.Tensor2D), [
      batch,
      time,
      config.vocabSize,
    ]) as tf.Tensor3D;
  };

  return {
    config,
    padTokenId: config.padTokenId ?? 0,
    embed,
    hidden(embeddings, mask, options: ForwardOptions = {}) {
      const [batch, time] = embeddings.shape;
      const causal = tf.linalg.bandPart(tf.ones([time, time]), -1, 0);
      const allowed = tf.mul(causal, tf.reshape(mask, [batch, 1, 1, time]));
      return decoder(
        embeddings,
        [Array.from({ length: time }, (_, t) => t)],
        additiveMask(allowed),
        options.adapt,
        null,
      ).hidden;
    },
    headTensors: (classes) => classifierHead(config, classes),
    classLogits(hidden, ids, head) {
      // A config without a pad token (stories260K's) still has its batches padded with id 0, and
      // the torch engine gives transformers pad_token_id 0: pooling the last column would read a pad.
      const pooled = pickPositions(
        hidden,
        ids.map((row) => lastNonPad(row, config.padTokenId ?? 0)),
      );
      return tf.matMul(pooled, head.get("score.weight") as tf.Tensor2D, false, true);
    },
    lmLogits,
    decode(ids, mask, cache, adapt) {
      const batch = ids.length;
      const time = ids[0]?.length ?? 0;
      const pastLength = cache?.mask[0]?.length ?? 0;
      // transformers' generate: a left-padded row's positions count only its real tokens.
      const next = cache ? [...cache.next] : new Array<number>(batch).fill(0);
      const positions = mask.map((row, b) => row.map((m) => (m ? (next[b] as number)++ : 0)));
      const keyMask = mask.map((row, b) => [...(cache?.mask[b] ?? []), ...row]);
      const allowed = new Float32Array(batch * time * (pastLength + time));
      keyMask.forEach((row, b) => {
        for (let query = 0; query < time; query++) {
          for (let key = 0; key <= pastLength + query; key++)
            allowed[(b * time + query) * (pastLength + time) + key] = row[key] as number;
        }
      });
      return tf.tidy(() => {
        const out = decoder(
          embed(tf.tensor2d(ids, undefined, "int32")),
          positions,
          additiveMask(tf.tensor4d(allowed, [batch, 1, time, pastLength + time])),
          adapt,
          cache,
        );
        const last = tf.slice(out.hidden, [0, time - 1, 0], [batch, 1, config.hiddenSize]);
        return {
          logits: tf.reshape(lmLogits(last), [batch, config.vocabSize]) as tf.Tensor2D,
          cache: { keys: out.keys, values: out.values, mask: keyMask, next },
        };
      }) as { logits: tf.Tensor2D; cache: KvCache };
    },
    dispose: () => weights.dispose(),
  };
}

/**
 * cos and sin tables [rows, 1, time, headDim] of Llama's rotary embedding (halves concatenated)
 * for each row's position ids; one row broadcasts over the batch.
 */
function rotary(positions: number[][], invFreq: readonly number[], headDim: number): [tf.Tensor, tf.Tensor] {
  const half = headDim / 2;
  const rows = positions.length;
  const time = positions[0]?.length ?? 0;
  const cos = new Float32Array(rows * time * headDim);
  const sin = new Float32Array(rows * time * headDim);
  positions.forEach((row, r) =>
    row.forEach((position, t) => {
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(position * (invFreq[i] as number));
        const at = (r * time + t) * headDim;
        cos[at + i] = cos[at + i + half] = Math.cos(angle);
        sin[at + i] = sin[at + i + half] = Math.sin(angle);
      }
    }),
  );
  return [tf.tensor4d(cos, [rows, 1, time, headDim]), tf.tensor4d(sin, [rows, 1, time, headDim])];
}

/** x * cos + rotate_half(x) * sin, where rotate_half(x) = [-x2, x1]. */
function applyRotary(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const [x1, x2] = tf.split(x, 2, -1) as [tf.Tensor, tf.Tensor];
  return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(x2), x1], -1), sin));
}

/** Grouped-query attention: each key/value head serves `times` query heads. */
function repeatKv(x: tf.Tensor, times: number): tf.Tensor {
  if (times === 1) return x;
  const [batch, kvHeads, time, headDim] = x.shape as [number, number, number, number];
  // Rank-3 tile: tfjs has no gradient for tiling rank-5 tensors.
  return tf.reshape(tf.tile(tf.reshape(x, [batch * kvHeads, 1, time * headDim]), [1, times, 1]), [
    batch,
    kvHeads * times,
    time,
    headDim,
  ]);
}

/** transformers: the highest position whose token is not the pad token (0 when all are). */
export function lastNonPad(row: readonly number[], padTokenId: number): number {
  let last = 0;
  row.forEach((id, position) => {
    if (id !== padTokenId) last = position;
  });
  return last;
}
