import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openModelWeights } from "../adapter/index.js";
import { builtinModelDir } from "../builtin/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import { downloadModel, type DownloadProgress } from "../hub/index.js";
import { cacheFailure, defaultCacheRoot } from "../files/index.js";
import type { RunPlan } from "../recipe/index.js";

export interface ModelOptions {
  /** Root of tune's cache, where built-in models are built (default: see defaultCacheRoot). */
  cacheRoot?: string;
  /** Bytes of a Hub model being fetched into the Hugging Face cache. */
  onDownload?: (progress: DownloadProgress) => void;
}

export interface LocatedModel {
  /** The folder with config.json, the tokenizer and the weights. */
  dir: string;
  warnings: string[];
}

/**
 * The model folder of a recipe: a local folder, the real tokenizer and random weights of a
 * built-in model, or a Hub model resolved into the Hugging Face cache Python shares. Whichever
 * it is, it is checked here before an engine sees it (see checkModelFolder).
 */
export async function locateModel(plan: RunPlan, options: ModelOptions = {}): Promise<LocatedModel> {
  const located = await findModel(plan, options.cacheRoot ?? defaultCacheRoot(), options.onDownload);
  checkModelFolder(located.dir);
  return located;
}

async function findModel(
  plan: RunPlan,
  cacheRoot: string,
  onDownload?: (progress: DownloadProgress) => void,
): Promise<LocatedModel> {
  const source = plan.model.source;
  switch (source.kind) {
    case "local":
      return { dir: source.path, warnings: [] };
    case "builtin":
      return { dir: builtinDir(source.name, cacheRoot), warnings: [] };
    case "hub": {
      const model = await downloadModel(source.id, plan.model.revision, { onProgress: onDownload });
      const warnings = model.offlineReason
        ? [`${model.offlineReason}; using the copy of ${source.id} in the Hugging Face cache (commit ${model.commit})`]
        : [];
      return { dir: model.dir, warnings };
    }
  }
}

/**
 * A model folder is input like any other: config.json must be a JSON object, and weights, where
 * the folder has them, safetensors whose headers are sound (every shard the index names, beside
 * it). Done once here, so a damaged folder is the user's to fix (exit 2) on either engine, not a
 * crash in Python. A folder without weights still validates and tokenizes (a recipe can be
 * checked against a model's config and tokenizer alone); the engines refuse to train on it.
 */
function checkModelFolder(dir: string): void {
  const configFile = join(dir, "config.json");
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(configFile, "utf8"));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw TuneError.single({
      code: "model-config-invalid",
      message: missing
        ? `${dir} has no config.json, so it is not a transformers model folder`
        : "config.json is not valid JSON",
      location: { file: missing ? dir : configFile },
      hint: "Point model.base at a folder saved with save_pretrained (or a Hub id).",
    });
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw TuneError.single({
      code: "model-config-invalid",
      message: "config.json is not a JSON object",
      location: { file: configFile },
      hint: "Point model.base at a folder saved with save_pretrained (or a Hub id).",
    });
  }
  if (existsSync(join(dir, "model.safetensors")) || existsSync(join(dir, "model.safetensors.index.json")))
    openModelWeights(dir).close();
}

function builtinDir(name: string, cacheRoot: string): string {
  let dir: string | undefined;
  try {
    dir = builtinModelDir(name, cacheRoot);
  } catch (error) {
    throw cacheFailure(error, cacheRoot);
  }
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
