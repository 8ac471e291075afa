import { homedir } from "node:os";
import { join } from "node:path";

/** Root of tune's cache: TUNE_CACHE_DIR, else $XDG_CACHE_HOME/tune, else ~/.cache/tune. */
export function defaultCacheRoot(): string {
  return process.env.TUNE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "tune");
}
