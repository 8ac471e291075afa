import { chmodSync, existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { tinyBertDir, tinyLlamaDir } from "../../src/builtin/index.js";
import { builtinModels, linkBuiltinModels, runCache } from "./test-run.js";

/** Sets the write bits of a folder tree (`on`) or clears them. */
function writable(path: string, on: boolean): void {
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) writable(join(path, name), on);
  chmodSync(path, on ? statSync(path).mode | 0o222 : statSync(path).mode & ~0o222);
}

/**
 * Global setup of every tier: builds the built-in models once per vitest run, read-only, and
 * links them into the run's default tune cache; tests that make a cache of their own link them
 * too (testCache in test/support/test-cache.ts), so no test builds them again. The first tier's
 * setup builds them; the others find them. The teardown removes the run's folder.
 */
export default function setup(project: TestProject): () => void {
  const run = project.getProvidedContext().testRun;
  const models = builtinModels(run);
  if (!existsSync(join(models, "builtin"))) {
    tinyLlamaDir(models);
    tinyBertDir(models);
    writable(join(models, "builtin"), false);
  }
  linkBuiltinModels(run, runCache(run));
  return () => {
    if (existsSync(models)) writable(models, true);
    rmSync(run, { recursive: true, force: true });
  };
}
