import { join } from "node:path";
import { inject } from "vitest";
import { linkBuiltinModels } from "./test-run.js";

/**
 * A tune cache of the test's own at `<dir>/cache`, for TUNE_CACHE_DIR or `cacheRoot`: the data
 * the test prepares lands there alone, and the built-in models are the run's shared, read-only
 * ones (test/support/setup-builtin-models.ts). Calling it again for the same folder is harmless.
 */
export function testCache(dir: string): string {
  return linkBuiltinModels(inject("testRun"), join(dir, "cache"));
}
