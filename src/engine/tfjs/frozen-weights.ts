import * as tf from "@tensorflow/tfjs-core";
import { openModelWeights } from "../../adapter/index.js";
import { TuneError } from "../../errors/index.js";

/** A model's weights as frozen tfjs tensors, by (normalised) transformers name. */
export interface FrozenWeights {
  has(name: string): boolean;
  get(name: string): tf.Tensor;
  /** x · Wᵀ for the [out, in] weight `name`: see frozenMatMul. */
  product(name: string): (x: tf.Tensor2D) => tf.Tensor2D;
  dispose(): void;
}

/**
 * Loads every tensor of a model folder (sharded or not) as float32, with `rename` mapping
 * checkpoint names to the names the model code uses (null skips a tensor).
 */
export function loadFrozenWeights(dir: string, rename: (name: string) => string | null): FrozenWeights {
  const source = openModelWeights(dir);
  const weights = new Map<string, tf.Tensor>();
  try {
    for (const name of source.names) {
      const target = rename(name);
      if (target !== null) weights.set(target, tf.tensor(source.readFloat32(name), source.info(name).shape));
    }
  } finally {
    source.close();
  }
  const products = new Map<string, (x: tf.Tensor2D) => tf.Tensor2D>();
  const transposed: tf.Tensor[] = [];
  const get = (name: string) => {
    const tensor = weights.get(name);
    if (!tensor)
      throw TuneError.single({
        code: "weights-missing-tensor",
        message: `the weights in ${dir} have no ${name}, which its config.json implies`,
        location: { file: dir },
        hint: "The weights and config.json come from different models, or the weights are incomplete; save or download the model again.",
      });
    return tensor;
  };
  return {
    has: (name) => weights.has(name),
    get,
    product(name) {
      let product = products.get(name);
      if (!product) {
        const weight = get(name) as tf.Tensor2D;
        const weightT = tf.keep(tf.transpose(weight));
        transposed.push(weightT);
        product = frozenMatMul(weight, weightT);
        products.set(name, product);
      }
      return product;
    },
    dispose() {
      weights.forEach((t) => t.dispose());
      transposed.forEach((t) => t.dispose());
    },
  };
}

/**
 * x · Wᵀ for a frozen W [out, in]. tfjs-wasm multiplies a transposed operand several times
 * slower, so Wᵀ is materialised once and the backward pass multiplies by W itself; a custom
 * gradient also keeps the tape from saving a copy of W each step. W gets no gradient.
 */
function frozenMatMul(weight: tf.Tensor2D, weightT: tf.Tensor): (x: tf.Tensor2D) => tf.Tensor2D {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.matMul(args[0] as tf.Tensor2D, weightT),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [tf.matMul(dy as tf.Tensor2D, weight)],
  })) as unknown as (x: tf.Tensor2D) => tf.Tensor2D;
}

/**
 * Rows of `hidden` [batch, time, size] at one position per row, as [batch, size]. A one-hot sum
 * rather than a gather: its gradient needs no UnsortedSegmentSum (absent on wasm).
 */
export function pickPositions(hidden: tf.Tensor3D, positions: readonly number[]): tf.Tensor2D {
  const [batch, time] = hidden.shape;
  const pick = new Float32Array(batch * time);
  positions.forEach((position, b) => (pick[b * time + position] = 1));
  return tf.sum(tf.mul(hidden, tf.tensor3d(pick, [batch, time, 1])), 1) as tf.Tensor2D;
}

/** Additive attention mask [batch, 1, queries, keys]: 0 where allowed, -1e9 elsewhere. */
export function additiveMask(allowed: tf.Tensor): tf.Tensor {
  return tf.mul(tf.sub(1, allowed), -1e9);
}
