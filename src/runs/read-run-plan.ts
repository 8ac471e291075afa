import { join } from "node:path";
import { z } from "zod";
import { readStateFile } from "../files/index.js";
import { PLAN_VERSION, type CompletePlan } from "../recipe/index.js";

const HINT =
  "Run the recipe again with --restart to rewrite the run (the old one is moved aside), or restore plan.json from a backup.";

/** The fields every reader of a plan relies on; the rest is tune's own output, passed through. */
const PlanShape = z.looseObject({
  plan_version: z.literal(PLAN_VERSION, {
    error: `written by another version of tune (this one reads plan version ${PLAN_VERSION})`,
  }),
  name: z.string(),
  task: z.enum(["sequence-classification", "causal-lm", "generative-classification", "prompting"]),
  run_dir: z.string(),
  model: z.looseObject({ base: z.string(), revision: z.string() }),
  lora: z.looseObject({ r: z.number() }),
  data: z.looseObject({ splits: z.array(z.enum(["train", "eval", "test"])), labels: z.array(z.string()).nullable() }),
  training: z.looseObject({ seed: z.number() }),
  eval: z.looseObject({
    splits: z.array(z.enum(["train", "eval", "test"])),
    metrics: z.array(z.string()),
    gates: z.array(z.unknown()),
  }),
  schedule: z.looseObject({ total_steps: z.number(), steps_per_epoch: z.number(), checkpoint_every: z.number() }),
});

/**
 * A run's plan.json, checked, with `run_dir` set to where it was read: a run that was moved,
 * copied or put aside by --restart writes (scratch files, predictions) into its own folder,
 * never into the folder its plan was first written in. Undefined when the folder has no plan.
 */
export function readRunPlan(runDir: string): CompletePlan | undefined {
  const plan = readStateFile(join(runDir, "plan.json"), PlanShape, HINT) as CompletePlan | undefined;
  return plan && { ...plan, run_dir: runDir };
}
