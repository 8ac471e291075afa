import type { RunPlan } from "../../recipe/index.js";
import type { Example } from "../example.js";
import { seededRandom, shuffled } from "../seeded-random.js";
import { fillTemplate } from "./placeholders.js";

/**
 * The few-shot block: `per_class` examples of each label drawn from the training split with
 * the seed, their order shuffled with the same seed, written with the example template (or
 * the prompt followed by the completion) and joined by the separator. The same block is used
 * for every prompt, as the reference systems do.
 */
export function fewShotBlock(plan: RunPlan, train: readonly Example[]): string {
  const fewShot = plan.template?.few_shot;
  const labels = plan.data.labels;
  if (!fewShot || !labels) return "";
  const random = seededRandom(fewShot.seed);
  const chosen: Example[] = [];
  labels.forEach((_, id) => {
    const pool = train.filter((example) => example.label === id);
    chosen.push(...shuffled(pool, random).slice(0, fewShot.per_class));
  });
  const format = fewShot.example ?? `${plan.template?.prompt ?? ""}${plan.template?.completion ?? "{label}"}`;
  return shuffled(chosen, random)
    .map((example) => fillTemplate(format, templateValues(plan, example)))
    .join(fewShot.separator);
}

/** Template values of an example: its fields, with `{label}` the label name when it has a class. */
export function templateValues(plan: RunPlan, example: Example): Record<string, string> {
  if (example.label === null) return example.fields;
  return { ...example.fields, label: plan.data.labels?.[example.label] ?? "" };
}
