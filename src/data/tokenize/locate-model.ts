import { builtinModelDir } from "../../builtin/index.js";
import { ExitCode, TuneError } from "../../errors/index.js";
import { downloadModel, type DownloadProgress } from "../../hub/index.js";
import type { RunPlan } from "../../recipe/index.js";

export interface LocatedModel {
  /** The folder with config.json, the tokenizer and the weights. */
  dir: string;
  warnings: string[];
}

/**
 * The model folder of a recipe: a local folder, the real tokenizer and random weights of a
 * built-in model, or a Hub model resolved into the Hugging Face cache Python shares.
 */
export async function locateModel(plan: RunPlan, cacheRoot: string, onDownload?: (progress: DownloadProgress) => void): Promise<LocatedModel> {
  const source = plan.model.source;
  switch (source.kind) {
    case "local":
      return { dir: source.path, warnings: [] };
    case "builtin":
      return { dir: builtinDir(source.name, cacheRoot), warnings: [] };
    case "hub": {
      const model = await downloadModel(source.id, plan.model.revision, { onProgress: onDownload });
      const warnings = model.offlineReason ? [`${model.offlineReason}; using the copy of ${source.id} in the Hugging Face cache (commit ${model.commit})`] : [];
      return { dir: model.dir, warnings };
    }
  }
}

function builtinDir(name: string, cacheRoot: string): string {
  const dir = builtinModelDir(name, cacheRoot);
  if (dir) return dir;
  throw TuneError.single(
    {
      code: "builtin-not-available",
      message: `the built-in model builtin:${name} is not part of this version of tune yet`,
      hint: "Use builtin:tiny-llama or builtin:tiny-bert, or a local model folder.",
    },
    ExitCode.environment,
  );
}
