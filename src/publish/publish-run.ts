import { existsSync } from "node:fs";
import { join } from "node:path";
import { earlierMerge, type MergeDtype } from "../adapter/index.js";
import type { Selection } from "../eval/index.js";
import { ExitCode, isTuneError, TuneError } from "../errors/index.js";
import { openHubSession } from "../hub/index.js";
import type { RunPlan } from "../recipe/index.js";
import { locateCheckpoint } from "../runs/index.js";
import { mergeCheckpoint, pushCheckpoint } from "./publish-checkpoint.js";

export type PublishEvent =
  | { type: "merged"; checkpoint: string; dir: string; dtype: string; reused: boolean }
  | { type: "pushed"; checkpoint: string; repo: string; url: string; commit: string | null; uploaded: string[] }
  | { type: "warning"; message: string };

const MERGE_DTYPES: Record<string, MergeDtype> = { auto: "auto", float32: "F32", float16: "F16", bfloat16: "BF16" };

/** A recipe that pushes needs a token: say so before any training, not hours later. */
export function refuseUnpushable(plan: RunPlan): void {
  if (!plan.hub || openHubSession().token) return;
  throw TuneError.single(
    {
      code: "hub-token-missing",
      message: `the recipe pushes to ${plan.hub.repo} but no Hugging Face token was found`,
      field: "hub",
      hint: "Set HF_TOKEN (or run `huggingface-cli login`) with a token that can write to the repo, or remove the hub section.",
    },
    ExitCode.environment,
  );
}

function pushFailed(error: unknown, plan: RunPlan, checkpoint: string): TuneError {
  const problem = isTuneError(error) ? error.problems[0] : undefined;
  const exitCode = isTuneError(error) ? error.exitCode : ExitCode.unexpected;
  return TuneError.single(
    {
      code: problem?.code ?? "hub-error",
      message: `the run finished, but pushing it failed: ${problem?.message ?? (error as Error).message}`,
      hint: `${problem?.hint ?? ""} Then push with \`tune push ${checkpoint} --repo ${plan.hub?.repo}\`; training is not repeated.`.trim(),
    },
    exitCode,
  );
}

/**
 * hub.when: every — each checkpoint is pushed once it is saved, one push at a time while
 * training goes on (as the Trainer's every_save strategy); a failed intermediate push is a
 * warning, since the final push at the end of the run carries the result.
 */
export function checkpointPusher(
  plan: RunPlan,
  emit: (event: PublishEvent) => void,
): { saved(checkpoint: string): void; drain(): Promise<void> } {
  let queue = Promise.resolve();
  return {
    saved(checkpoint) {
      if (plan.hub?.when !== "every") return;
      const hub = plan.hub;
      queue = queue.then(async () => {
        if (!existsSync(checkpoint)) return;
        try {
          const result = await pushCheckpoint(locateCheckpoint(checkpoint), {
            repo: hub.repo,
            private: hub.private,
            revision: hub.revision,
            license: hub.license,
            force: true,
          });
          emit({
            type: "pushed",
            checkpoint,
            repo: hub.repo,
            url: result.url,
            commit: result.commit,
            uploaded: result.uploaded,
          });
        } catch (error) {
          emit({
            type: "warning",
            message: `could not push ${checkpoint}: ${isTuneError(error) ? error.problems[0]?.message : (error as Error).message}`,
          });
        }
      });
    },
    drain: () => queue,
  };
}

/**
 * What a finished run does with its result, as the recipe asks: merge the best checkpoint into
 * `<run>/merged` (skipped when that merge is already there), and push the best (or the newest)
 * checkpoint when every gate passed.
 */
export async function publishRun(
  plan: RunPlan,
  selection: Selection,
  newest: string | null,
  emit: (event: PublishEvent) => void,
): Promise<void> {
  const best = selection.best?.dir ?? newest;
  if (!best) return;
  let mergedDir: string | undefined;
  if (plan.merge) {
    const dir = join(plan.run_dir, "merged");
    const dtype = MERGE_DTYPES[plan.merge.dtype] ?? "auto";
    const previous = earlierMerge(dir);
    const reused = previous?.checkpoint === best && previous.requested_dtype === dtype;
    if (!reused) {
      const merged = await mergeCheckpoint(locateCheckpoint(best), { out: dir, dtype });
      for (const message of merged.warnings) emit({ type: "warning", message });
    }
    emit({ type: "merged", checkpoint: best, dir, dtype, reused });
    mergedDir = dir;
  }
  if (!plan.hub) return;
  if (!selection.passed) {
    emit({
      type: "warning",
      message: `not pushed to ${plan.hub.repo}: the best checkpoint failed its gates (push it anyway with \`tune push ${best} --repo ${plan.hub.repo} --force\`)`,
    });
    return;
  }
  const checkpoint = plan.hub.when === "end" && newest ? newest : best;
  try {
    const result = await pushCheckpoint(locateCheckpoint(checkpoint), {
      repo: plan.hub.repo,
      private: plan.hub.private,
      revision: plan.hub.revision,
      license: plan.hub.license,
      merged: plan.hub.push === "merged",
      mergedDir: checkpoint === best ? mergedDir : undefined,
      force: checkpoint !== best,
    });
    emit({
      type: "pushed",
      checkpoint,
      repo: plan.hub.repo,
      url: result.url,
      commit: result.commit,
      uploaded: result.uploaded,
    });
  } catch (error) {
    throw pushFailed(error, plan, checkpoint);
  }
}
