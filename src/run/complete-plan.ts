import type { PreparedData } from "../data/index.js";
import { worldSize, type CompletePlan, type RunPlan } from "../recipe/index.js";

/**
 * The plan with what only the prepared data can tell: where each tokenized split lies and the
 * schedule (total, warmup and per-epoch steps, checkpoint interval). Done once, before plan.json
 * is written; both engines then read these values instead of working them out again.
 */
export function completePlan(plan: RunPlan, prepared: PreparedData): CompletePlan {
  const manifests = Object.fromEntries(
    Object.entries(prepared.splits).map(([name, split]) => [name, `${split.dir}/manifest.json`]),
  );
  const examples = prepared.splits.train?.manifest.count ?? 0;
  const { batch_size: batchSize, gradient_accumulation: accumulation } = plan.training;
  // batch_size is per process, as in the Trainer: one optimizer step takes a micro-batch from each.
  const microBatches = accumulation * worldSize(plan.distributed);
  const stepsPerEpoch = Math.max(1, Math.ceil(Math.ceil(examples / batchSize) / microBatches));
  const total = plan.training.max_steps ?? Math.ceil((plan.training.epochs ?? 1) * stepsPerEpoch);
  return {
    ...plan,
    data: { ...plan.data, manifests },
    schedule: {
      total_steps: total,
      warmup_steps: plan.training.warmup_steps ?? Math.ceil((plan.training.warmup_ratio ?? 0) * total),
      steps_per_epoch: stepsPerEpoch,
      checkpoint_every: plan.checkpoints.every === "epoch" ? stepsPerEpoch : plan.checkpoints.every,
      micro_batches_per_step: microBatches,
    },
  };
}
