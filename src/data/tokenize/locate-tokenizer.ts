import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ExitCode, TuneError } from "../../errors/index.js";
import type { RunPlan } from "../../recipe/index.js";
import { builtinModelDir } from "../../builtin/index.js";

/**
 * The folder holding the model's tokenizer.json: a local model folder, the Hugging Face cache
 * for a Hub id (the same cache Python uses), or the real tokenizer a built-in model ships with.
 */
export function locateTokenizer(plan: RunPlan, cacheRoot: string): string {
  const source = plan.model.source;
  switch (source.kind) {
    case "local":
      return source.path;
    case "builtin":
      return builtinTokenizerDir(source.name, cacheRoot);
    case "hub": {
      const snapshot = hubCacheSnapshot(source.id, plan.model.revision);
      if (snapshot && existsSync(join(snapshot, "tokenizer.json"))) return snapshot;
      throw TuneError.single(
        {
          code: "model-not-cached",
          message: `the tokenizer of ${source.id} (revision ${plan.model.revision}) is not in the local Hugging Face cache`,
          hint: "This version of tune does not download models: fetch it once with `huggingface-cli download " + source.id + "` or point model.base at a local folder.",
        },
        ExitCode.environment,
      );
    }
  }
}

function builtinTokenizerDir(name: string, cacheRoot: string): string {
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

/** `snapshots/<commit>` for a repo and revision in HF_HUB_CACHE / $HF_HOME/hub / ~/.cache/huggingface/hub. */
function hubCacheSnapshot(id: string, revision: string): string | undefined {
  const hubCache = process.env.HF_HUB_CACHE ?? join(process.env.HF_HOME ?? join(homedir(), ".cache", "huggingface"), "hub");
  const repo = join(hubCache, `models--${id.replaceAll("/", "--")}`);
  const refFile = join(repo, "refs", revision);
  const commit = existsSync(refFile) ? readFileSync(refFile, "utf8").trim() : revision;
  const snapshot = join(repo, "snapshots", commit);
  return existsSync(snapshot) ? snapshot : undefined;
}
