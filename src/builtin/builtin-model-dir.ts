import { tinyBertDir } from "./tiny-bert.js";
import { tinyLlamaDir } from "./tiny-llama.js";

const BUILDERS: Record<string, (cacheRoot: string) => string> = {
  "tiny-llama": tinyLlamaDir,
  "tiny-bert": tinyBertDir,
};

/** The model folder of `builtin:<name>` (built on first use), or undefined for an unknown name. */
export function builtinModelDir(name: string, cacheRoot: string): string | undefined {
  return BUILDERS[name]?.(cacheRoot);
}
