import { homedir } from "node:os";
import { join } from "node:path";
import { fileSystemFailure } from "../errors/index.js";

/** Root of tune's cache: TUNE_CACHE_DIR, else $XDG_CACHE_HOME/tune, else ~/.cache/tune. */
export function defaultCacheRoot(): string {
  return process.env.TUNE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "tune");
}

/**
 * A failed write under tune's cache, said as the cache's (it is tune's, not the user's data) with
 * the setting that moves it; any other error is returned as it is.
 */
export function cacheFailure(error: unknown, cacheRoot: string): unknown {
  const path = (error as NodeJS.ErrnoException).path;
  if (!path?.startsWith(cacheRoot)) return error;
  return fileSystemFailure(error, {
    folder: cacheRoot,
    doing: "write tune's cache in",
    then: "run again, or set TUNE_CACHE_DIR to a writable folder",
  });
}
