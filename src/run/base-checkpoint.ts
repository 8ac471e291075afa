import { join } from "node:path";
import { checkpointProblem, writeManifest, MANIFEST } from "../checkpoint/index.js";
import { publishFolder, temporaryFolderFor } from "../files/index.js";
import { writeInitialAdapter } from "../engine/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import type { RunPlan } from "../recipe/index.js";
import { TUNE_VERSION } from "../version.js";

/**
 * `task: prompting` trains nothing: its one checkpoint, checkpoint-0, is the base model itself,
 * held as a LoRA adapter whose B matrices are zero (so it adds nothing). Evaluation, gates,
 * reports and `tune predict` then treat a prompting run like any other.
 */
export function baseCheckpoint(
  plan: RunPlan,
  modelDir: string,
  engine: string,
  provenance: Record<string, unknown>,
): string {
  const dir = join(plan.run_dir, "checkpoint-0");
  if (checkpointProblem(dir) === null) return dir;
  const temporary = temporaryFolderFor(dir);
  if (!writeInitialAdapter(plan, modelDir, temporary)) {
    throw TuneError.single(
      {
        code: "prompting-unsupported-model",
        message: `prompting with ${plan.model.base} is not supported in this version: tune cannot describe its untrained state as an adapter`,
        hint: "Use a Llama-, Qwen2-, Mistral-, BERT- or RoBERTa-family model.",
      },
      ExitCode.user,
    );
  }
  writeManifest(temporary, {
    tune_version: TUNE_VERSION,
    step: 0,
    provenance: { ...provenance, engine: { name: engine } },
  });
  publishFolder(temporary, dir, MANIFEST);
  return dir;
}
