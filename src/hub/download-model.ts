import { ExitCode, TuneError } from "../errors/index.js";
import { downloadRepo, type DownloadedRepo, type DownloadOptions } from "./download-repo.js";

const NEEDED = [
  /^(config|generation_config|tokenizer|tokenizer_config|special_tokens_map|added_tokens|chat_template)\.(json|jinja)$/,
  /^(vocab\.(json|txt)|merges\.txt|tokenizer\.model|spiece\.model|sentencepiece\.bpe\.model)$/,
  /^model(-\d{5}-of-\d{5})?\.safetensors$/,
  /^model\.safetensors\.index\.json$/,
];
/** A file name pickled weights go by: tune never loads one, and says so when a repo has nothing else. */
export const PICKLES = /\.(bin|pt|pth|ckpt)$/;

/**
 * The files a fine-tune needs from a model repo's top level: config, tokenizer and the
 * safetensors weights; never the pickled copies most repos also carry, nor `original/` folders.
 */
export function neededFiles(paths: readonly string[], id: string): string[] {
  const files = paths.filter((path) => !path.includes("/"));
  const needed = files.filter((path) => NEEDED.some((pattern) => pattern.test(path)));
  if (!needed.includes("config.json")) {
    throw TuneError.single(
      {
        code: "model-config-missing",
        message: `${id} has no config.json at its top level, so it is not a transformers model repo`,
        hint: "Check the repo id (a model is `owner/name`; adapters and datasets are not base models).",
      },
      ExitCode.user,
    );
  }
  if (!needed.some((path) => path.endsWith(".safetensors"))) {
    const pickles = files.filter((path) => PICKLES.test(path));
    throw TuneError.single(
      {
        code: pickles.length > 0 ? "weights-pickle-only" : "weights-missing",
        message:
          pickles.length > 0
            ? `${id} has only pickle weights (${pickles.join(", ")}), which tune refuses to load: unpickling runs code from the file`
            : `${id} has no model.safetensors or model.safetensors.index.json`,
        hint: "Use a repo with safetensors weights (most have a safetensors revision or a converted copy), or convert once where you trust the file and point model.base at the folder.",
      },
      ExitCode.user,
    );
  }
  return needed;
}

/** A base model from the Hub, resolved into the shared Hugging Face cache (see downloadRepo). */
export function downloadModel(id: string, revision: string, options: DownloadOptions = {}): Promise<DownloadedRepo> {
  return downloadRepo({ type: "model", id }, revision, (paths) => neededFiles(paths, id), options);
}
