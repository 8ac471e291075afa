import * as tf from "@tensorflow/tfjs-core";
import type { ForwardOptions, TfjsModel } from "./model.js";

/** Sum over the micro-batch of -log p(gold class). */
export function classLossSum(
  model: TfjsModel,
  hidden: tf.Tensor3D,
  ids: number[][],
  head: ReadonlyMap<string, tf.Tensor>,
  classIds: number[],
  classes: number,
  options: ForwardOptions = {},
): tf.Scalar {
  const logits = model.classLogits(hidden, ids, head, options);
  return tf.neg(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(classIds, "int32"), classes), tf.logSoftmax(logits)))) as tf.Scalar;
}

/** Per row, the sum over trained tokens of -log p(next token); labels shifted here, in plain arrays. */
export function tokenLossSums(model: TfjsModel, hidden: tf.Tensor3D, labels: number[][]): tf.Tensor1D {
  if (!model.lmLogits) throw new Error("this model has no language-model head");
  const logits = model.lmLogits(hidden);
  const [batch, time, vocab] = logits.shape;
  const targets = labels.flatMap((row) => row.map((_, t) => row[t + 1] ?? -100));
  const weights = tf.tensor2d(
    targets.map((t) => (t === -100 ? 0 : 1)),
    [batch, time],
  );
  const oneHot = tf.oneHot(
    tf.tensor1d(
      targets.map((t) => Math.max(t, 0)),
      "int32",
    ),
    vocab,
  );
  const picked = tf.reshape(tf.sum(tf.mul(oneHot, tf.logSoftmax(tf.reshape(logits, [batch * time, vocab]))), 1), [
    batch,
    time,
  ]);
  return tf.neg(tf.sum(tf.mul(picked, weights), 1)) as tf.Tensor1D;
}

/** Tokens a row of labels trains (each predicts the next one, so the first never counts). */
export function trainedTokens(labels: readonly number[]): number {
  return labels.slice(1).filter((l) => l !== -100).length;
}
