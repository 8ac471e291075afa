import { join } from "node:path";
import { checkpointProblem, writeManifest, MANIFEST } from "../checkpoint/index.js";
import { publishFolder, temporaryFolderFor } from "../files/index.js";
import type { PreparedData } from "../data/index.js";
import { selectBackend, writeInitialAdapter } from "../engine/tfjs/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import type { RunPlan } from "../recipe/index.js";
import { TUNE_VERSION } from "../version.js";

/**
 * `task: prompting` trains nothing: its one checkpoint, checkpoint-0, is the base model itself,
 * held as a LoRA adapter whose B matrices are zero (so it adds nothing). Evaluation, gates,
 * reports and `tune predict` then treat a prompting run like any other.
 */
export async function baseCheckpoint(
  plan: RunPlan,
  prepared: PreparedData,
  engine: string,
  provenance: Record<string, unknown>,
): Promise<string> {
  const dir = join(plan.run_dir, "checkpoint-0");
  if (checkpointProblem(dir) === null) return dir;
  // The adapter's LoRA A matrices are drawn with TensorFlow.js, as the tfjs engine draws them.
  await selectBackend("cpu");
  const temporary = temporaryFolderFor(dir);
  if (!writeInitialAdapter(plan, prepared.tokenizerDir, temporary)) {
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
