import * as tf from "@tensorflow/tfjs-core";

export interface AdamWState {
  step: number;
  m: Map<string, tf.Tensor>;
  v: Map<string, tf.Tensor>;
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

/**
 * One AdamW step with torch.optim.AdamW's arithmetic: decoupled weight decay p *= 1 - lr·wd,
 * then p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps).
 */
export function adamwStep(
  variables: tf.Variable[],
  grads: Record<string, tf.Tensor>,
  state: AdamWState,
  lr: number,
  weightDecay: number,
): void {
  state.step++;
  const correction1 = 1 - BETA1 ** state.step;
  const correction2 = Math.sqrt(1 - BETA2 ** state.step);
  for (const variable of variables) {
    const grad = grads[variable.name];
    if (!grad) continue;
    tf.tidy(() => {
      const m = tf.add(tf.mul(state.m.get(variable.name) ?? tf.zerosLike(variable), BETA1), tf.mul(grad, 1 - BETA1));
      const v = tf.add(
        tf.mul(state.v.get(variable.name) ?? tf.zerosLike(variable), BETA2),
        tf.mul(tf.square(grad), 1 - BETA2),
      );
      const decayed = weightDecay > 0 ? tf.mul(variable, 1 - lr * weightDecay) : variable;
      const denominator = tf.add(tf.div(tf.sqrt(v), correction2), EPS);
      variable.assign(tf.sub(decayed, tf.mul(tf.div(m, denominator), lr / correction1)));
      tf.dispose([state.m.get(variable.name), state.v.get(variable.name)]);
      state.m.set(variable.name, tf.keep(m));
      state.v.set(variable.name, tf.keep(v));
    });
  }
}

/** Scales gradients in place so their global L2 norm is at most maxNorm; returns the norm before. */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): number {
  const norm = tf.tidy(
    () => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0] as number,
  );
  if (maxNorm > 0 && norm > maxNorm) {
    const factor = maxNorm / (norm + 1e-6);
    for (const [name, grad] of Object.entries(grads)) {
      grads[name] = tf.mul(grad, factor);
      grad.dispose();
    }
  }
  return norm;
}
