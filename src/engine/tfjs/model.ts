import type * as tf from "@tensorflow/tfjs-core";
import type { HeadTensor, ModelConfig } from "../../model/index.js";

/** Given a linear module's name and input, the update to add to its output, or null for none. */
export type LinearAdapter = (module: string, input: tf.Tensor2D) => tf.Tensor2D | null;

export interface ForwardOptions {
  /** Adds a trainable update to a linear module's output (LoRA). */
  adapt?: LinearAdapter;
  /** Seed of the model's own dropout in training; absent or null means evaluation (no dropout). */
  dropoutSeed?: number | null;
}

/** A tensor of the classification head, trained in full and saved as a PEFT modules_to_save weight. */
/** Keys and values of every layer for the tokens seen so far, and which of them are padding. */
export interface KvCache {
  keys: tf.Tensor[];
  values: tf.Tensor[];
  /** [batch][position]: 1 for a real token. */
  mask: number[][];
  /** The position id the next token of each row gets. */
  next: number[];
}

/** A model the tfjs engine trains: embeddings, hidden states, heads; weights frozen. */
export interface TfjsModel {
  config: ModelConfig;
  /** Id used to right-pad batches. */
  padTokenId: number;
  /**
   * Input embeddings [batch, time, hidden] of right-padded ids. Kept apart from `hidden` so
   * training looks them up outside the gradient tape, which would otherwise keep a copy of the
   * whole table every step.
   */
  embed(ids: tf.Tensor2D): tf.Tensor3D;
  /** Final hidden states [batch, time, hidden]; `mask` is 1 for real tokens. */
  hidden(embeddings: tf.Tensor3D, mask: tf.Tensor2D, options?: ForwardOptions): tf.Tensor3D;
  /** The classification head's tensors for `classes` labels, as transformers names them. */
  headTensors(classes: number): HeadTensor[];
  /** Classifier logits [batch, classes] pooled as transformers' *ForSequenceClassification pools. */
  classLogits(
    hidden: tf.Tensor3D,
    ids: readonly (readonly number[])[],
    head: ReadonlyMap<string, tf.Tensor>,
    options?: ForwardOptions,
  ): tf.Tensor2D;
  /** Causal LMs only: next-token logits [batch, time, vocab]. */
  lmLogits?(hidden: tf.Tensor3D): tf.Tensor3D;
  /**
   * Causal LMs only: runs `ids` (left-padded prompts, or one new token per row) after what
   * `cache` holds and returns the next-token logits [batch, vocab] and the grown cache; the
   * caller disposes the old cache.
   */
  decode?(
    ids: number[][],
    mask: number[][],
    cache: KvCache | null,
    adapt?: LinearAdapter,
  ): { logits: tf.Tensor2D; cache: KvCache };
  dispose(): void;
}
