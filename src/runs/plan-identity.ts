import { createHash } from "node:crypto";
import type { RunPlan } from "../recipe/index.js";

/** Fields that must not change between a run and its resumption. */
export const RESUME_FIELDS = ["task", "model", "quantization", "lora", "data", "template", "training"] as const;

/**
 * The plan's fields that decide what is trained, as compared on resume. Dataset locations depend
 * on the cache folder; their content is fixed by the rest of `data`. Likewise the folder a
 * `model.adapter` was found in (a Hub adapter's is in the Hugging Face cache): its sha256, and
 * its Hub id and commit, say which adapter it is.
 */
export function resumeRelevant(plan: RunPlan): Record<(typeof RESUME_FIELDS)[number], unknown> {
  const start = plan.model.adapter_source;
  // How a step's micro-batches are dealt between accumulation and processes does not change what
  // is trained (every rank takes its share of the same micro-batches, and the step sums them; the
  // rows per step stay in effective_batch_size), so a run resumes on another number of GPUs.
  const { gradient_accumulation: _dealt, ...training } = plan.training;
  const comparable = {
    ...plan,
    model: start ? { ...plan.model, adapter_source: { ...start, dir: null } } : plan.model,
    data: { ...plan.data, manifests: null },
    training,
  };
  return Object.fromEntries(RESUME_FIELDS.map((field) => [field, comparable[field]])) as Record<
    (typeof RESUME_FIELDS)[number],
    unknown
  >;
}

/**
 * What identifies the experiment a checkpoint belongs to: every checkpoint's manifest records
 * it (provenance.plan_sha256), so a checkpoint read through a run is known to be that run's.
 */
export function planSha256(plan: RunPlan): string {
  return sha256(resumeRelevant(plan));
}

/**
 * The identities a checkpoint of this plan may record: planSha256's, and the one tune recorded
 * before gradient_accumulation left it (2026-12-03), so that runs trained then still read as
 * their own run's to eval, merge and push.
 */
export function planSha256s(plan: RunPlan): string[] {
  return [planSha256(plan), sha256({ ...resumeRelevant(plan), training: plan.training })];
}

function sha256(identity: unknown): string {
  return createHash("sha256").update(JSON.stringify(identity)).digest("hex");
}
