import { adapterProblem } from "../adapter/index.js";
import { findCheckpoints } from "../checkpoint/index.js";
import type { RunPlan } from "../recipe/index.js";

/** Complete checkpoints whose adapter also fits this plan and base model, newest first; the rest with why. */
export function soundCheckpoints(plan: RunPlan, modelDir: string) {
  const { valid, invalid } = findCheckpoints(plan.run_dir);
  const sound: typeof valid = [];
  for (const checkpoint of valid) {
    const why = adapterProblem(plan, checkpoint.dir, modelDir);
    if (why) invalid.push({ dir: checkpoint.dir, why });
    else sound.push(checkpoint);
  }
  return { valid: sound, invalid };
}
