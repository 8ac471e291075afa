import * as tf from "@tensorflow/tfjs-core";
import { ExitCode, TuneError } from "../../errors/index.js";
import { bertLinearModules, bertPrefix, type BertConfig } from "../../model/bert-config.js";
import { classifierHead } from "../../model/model-config.js";
import { additiveMask, loadFrozenWeights, pickPositions } from "./frozen-weights.js";
import type { ForwardOptions, TfjsModel } from "./model.js";

/**
 * Loads a BERT or RoBERTa encoder folder into frozen tfjs tensors and computes the forward
 * pass of Bert/RobertaForSequenceClassification as transformers does: word + position +
 * token-type embeddings, post-LayerNorm blocks with exact (erf) GELU, bidirectional attention
 * with a padding mask, the model's dropout in training; BERT pools [CLS] through its pooler
 * into `classifier`, RoBERTa feeds <s> to its dense + tanh + out_proj head.
 */
export function loadBertModel(dir: string, config: BertConfig): TfjsModel {
  const prefix = bertPrefix(config);
  const weights = loadFrozenWeights(dir, (name) => normaliseName(name, prefix));
  if (config.family === "bert" && !weights.has("pooler.dense.weight")) {
    weights.dispose();
    throw TuneError.single(
      {
        code: "model-unsupported",
        message: `the BERT checkpoint in ${dir} has no pooler weights (pooler.dense)`,
        location: { file: dir },
        hint: "BertForSequenceClassification classifies through the pretrained pooler; transformers would initialise a missing one at random, which no adapter could reproduce. Use a checkpoint with its pooler.",
      },
      ExitCode.user,
    );
  }
  // Transpose every matrix the forward pass multiplies by once, at load, not during a step.
  for (const { module } of bertLinearModules(config)) weights.product(`${module.slice(prefix.length + 1)}.weight`);
  let dropoutCall = 0;
  const dropout = (x: tf.Tensor, rate: number, seed: number | null | undefined) =>
    seed === null || seed === undefined || rate === 0 ? x : tf.dropout(x, rate, undefined, seed * 1009 + dropoutCall++);
  const linear = (x: tf.Tensor2D, name: string, options: ForwardOptions): tf.Tensor2D => {
    const out = tf.add(weights.product(`${name}.weight`)(x), weights.get(`${name}.bias`)) as tf.Tensor2D;
    const update = options.adapt?.(`${prefix}.${name}`, x);
    return update ? tf.add(out, update) : out;
  };
  const layerNorm = (x: tf.Tensor, name: string) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(
      tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, config.layerNormEps))), weights.get(`${name}.weight`)),
      weights.get(`${name}.bias`),
    );
  };
  const gelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));

  return {
    config,
    padTokenId: config.padTokenId,
    embed(ids) {
      const [batch, time] = ids.shape;
      const rows = ids.arraySync();
      const positions = rows.map((row) =>
        config.family === "roberta" ? robertaPositions(row, config.padTokenId) : row.map((_, t) => t),
      );
      const lookup = (table: string, indices: tf.Tensor) =>
        tf.reshape(tf.gather(weights.get(table), tf.reshape(indices, [-1])), [batch, time, config.hiddenSize]);
      const sum = tf.add(
        tf.add(
          lookup("embeddings.word_embeddings.weight", ids),
          lookup("embeddings.position_embeddings.weight", tf.tensor2d(positions, undefined, "int32")),
        ),
        lookup("embeddings.token_type_embeddings.weight", tf.zeros([batch, time], "int32")),
      );
      return layerNorm(sum, "embeddings.LayerNorm") as tf.Tensor3D;
    },
    hidden(embeddings, mask, options = {}) {
      dropoutCall = 0;
      const seed = options.dropoutSeed;
      const [batch, time] = embeddings.shape;
      const { heads, hiddenSize } = config;
      const headDim = hiddenSize / heads;
      const keyMask = additiveMask(tf.reshape(mask, [batch, 1, 1, time]));
      let x = tf.reshape(dropout(embeddings, config.hiddenDropout, seed), [batch * time, hiddenSize]) as tf.Tensor2D;
      for (let layer = 0; layer < config.layers; layer++) {
        const p = `encoder.layer.${layer}`;
        const split = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [batch, time, heads, headDim]), [0, 2, 1, 3]);
        const q = split(linear(x, `${p}.attention.self.query`, options));
        const k = split(linear(x, `${p}.attention.self.key`, options));
        const v = split(linear(x, `${p}.attention.self.value`, options));
        const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(headDim)), keyMask);
        const context = tf.matMul(dropout(tf.softmax(scores), config.attentionDropout, seed), v);
        const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch * time, hiddenSize]) as tf.Tensor2D;
        const attended = layerNorm(
          tf.add(dropout(linear(merged, `${p}.attention.output.dense`, options), config.hiddenDropout, seed), x),
          `${p}.attention.output.LayerNorm`,
        ) as tf.Tensor2D;
        const inner = gelu(linear(attended, `${p}.intermediate.dense`, options)) as tf.Tensor2D;
        x = layerNorm(
          tf.add(dropout(linear(inner, `${p}.output.dense`, options), config.hiddenDropout, seed), attended),
          `${p}.output.LayerNorm`,
        ) as tf.Tensor2D;
      }
      return tf.reshape(x, [batch, time, hiddenSize]);
    },
    headTensors: (classes) => classifierHead(config, classes),
    classLogits(hidden, ids, head, options = {}) {
      const seed = options.dropoutSeed;
      const first = pickPositions(
        hidden,
        ids.map(() => 0),
      );
      const dense = (x: tf.Tensor2D, name: string) =>
        tf.add(
          tf.matMul(x, head.get(`${name}.weight`) as tf.Tensor2D, false, true),
          head.get(`${name}.bias`) as tf.Tensor,
        ) as tf.Tensor2D;
      if (config.family === "roberta") {
        const inner = tf.tanh(
          dense(dropout(first, config.classifierDropout, seed) as tf.Tensor2D, "classifier.dense"),
        ) as tf.Tensor2D;
        return dense(dropout(inner, config.classifierDropout, seed) as tf.Tensor2D, "classifier.out_proj");
      }
      const pooled = tf.tanh(linear(first, "pooler.dense", options)) as tf.Tensor2D;
      return dense(dropout(pooled, config.classifierDropout, seed) as tf.Tensor2D, "classifier");
    },
    dispose: () => weights.dispose(),
  };
}

/**
 * Checkpoint names as BertModel names them: without the `bert.`/`roberta.` prefix a
 * *ForPreTraining or *ForMaskedLM checkpoint has, LayerNorm gamma/beta as weight/bias (old
 * TensorFlow-converted checkpoints); pretraining heads are skipped.
 */
function normaliseName(name: string, prefix: string): string | null {
  const bare = name.startsWith(`${prefix}.`) ? name.slice(prefix.length + 1) : name;
  if (!/^(embeddings|encoder|pooler)\./.test(bare) || bare.endsWith("position_ids")) return null;
  return bare.replace(/LayerNorm\.gamma$/, "LayerNorm.weight").replace(/LayerNorm\.beta$/, "LayerNorm.bias");
}

/** RoBERTa numbers real tokens from padding_idx + 1; padding keeps padding_idx. */
function robertaPositions(row: readonly number[], padTokenId: number): number[] {
  let count = 0;
  return row.map((id) => (id === padTokenId ? padTokenId : padTokenId + ++count));
}
