import { worldSize, type RunPlan } from "../recipe/index.js";

type Spread = Pick<RunPlan, "distributed"> & {
  training: Pick<RunPlan["training"], "batch_size" | "effective_batch_size">;
};

/**
 * A resume on another number of processes that would change the run's rows per optimizer step:
 * the gradient_accumulation that keeps them, or why none does. Null for any other change.
 */
export function processCountHint(before: Spread, after: Spread): string | null {
  const [was, now] = [worldSize(before.distributed), worldSize(after.distributed)];
  const { effective_batch_size: perStep, batch_size: batchSize } = before.training;
  if (was === now || perStep === after.training.effective_batch_size) return null;
  const accumulation = perStep / (batchSize * now);
  const processes = (count: number) => `${count} process${count === 1 ? "" : "es"}`;
  return Number.isInteger(accumulation)
    ? `The run took ${perStep} rows per optimizer step on ${processes(was)}; to resume it on ${processes(now)} with batch_size ${batchSize}, set training.gradient_accumulation: ${accumulation}.`
    : `The run took ${perStep} rows per optimizer step, which ${processes(now)} of batch_size ${batchSize} cannot split evenly: resume on a number of processes that divides ${perStep / batchSize}.`;
}
