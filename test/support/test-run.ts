import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";

/**
 * Where one vitest run keeps what its tests share, under the folder vitest.config.ts names
 * (`testRun`, given to tests by `inject`): tune's cache for tests that use the default one, the
 * built-in models, and the e2e tier's fixture runs. The global setups make it; the last
 * teardown removes it.
 */
export const runCache = (run: string): string => join(run, "cache");
export const builtinModels = (run: string): string => join(run, "builtin-models");
export const fixtureRuns = (run: string): string => join(run, "fixtures");

declare module "vitest" {
  export interface ProvidedContext {
    testRun: string;
  }
}

/**
 * Makes `cache` a tune cache whose built-in models are the run's: `<cache>/builtin` links to the
 * folder the global setup built once, read-only, so tune finds every built-in model built.
 */
export function linkBuiltinModels(run: string, cache: string): string {
  const link = join(cache, "builtin");
  if (!existsSync(link)) {
    mkdirSync(cache, { recursive: true });
    symlinkSync(join(builtinModels(run), "builtin"), link);
  }
  return cache;
}
