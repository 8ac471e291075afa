import { ExitCode, TuneError } from "../errors/index.js";
import { PICKLES } from "./download-model.js";
import { downloadRepo, type DownloadedRepo, type DownloadOptions } from "./download-repo.js";

/** What a PEFT adapter repo holds that tune reads: the adapter itself, its card and the tokenizer it may carry. */
const ADAPTER_FILES = [
  /^adapter_(config\.json|model\.safetensors)$/,
  /^README\.md$/,
  /^(tokenizer|tokenizer_config|special_tokens_map|added_tokens|chat_template)\.(json|jinja)$/,
  /^tokenizer\.model$/,
];

/**
 * The files tune reads from an adapter repo's top level: adapter_config.json and
 * adapter_model.safetensors (both required), the card and tokenizer files when present; never a
 * pickle. A repo whose adapter is only adapter_model.bin is refused, saying why.
 */
export function adapterFiles(paths: readonly string[], id: string): string[] {
  const files = paths.filter((path) => !path.includes("/"));
  const wanted = files.filter((path) => ADAPTER_FILES.some((pattern) => pattern.test(path)));
  const refuse = (code: string, message: string, hint: string) =>
    TuneError.single({ code, message, hint }, ExitCode.user);
  if (!wanted.includes("adapter_config.json"))
    throw refuse(
      "adapter-config-missing",
      `${id} has no adapter_config.json at its top level, so it is not a PEFT adapter repo`,
      "Check the repo id; a full model is a base (model.base or --base), not an adapter.",
    );
  if (!wanted.includes("adapter_model.safetensors")) {
    const pickles = files.filter((path) => PICKLES.test(path));
    throw pickles.length > 0
      ? refuse(
          "adapter-pickle-only",
          `${id} has only a pickled adapter (${pickles.join(", ")}), which tune refuses to load: unpickling runs code from the file`,
          "Ask for (or push) a safetensors copy: PeftModel.save_pretrained(dir, safe_serialization=True) where you trust the file.",
        )
      : refuse("adapter-weights-missing", `${id} has no adapter_model.safetensors`, "Check the repo id and revision.");
  }
  return wanted;
}

/** A PEFT adapter from the Hub, its revision resolved to a commit, its files in the shared Hugging Face cache (models--owner--name). */
export function downloadAdapter(id: string, revision: string, options: DownloadOptions = {}): Promise<DownloadedRepo> {
  return downloadRepo({ type: "model", id }, revision, (paths) => adapterFiles(paths, id), options);
}
