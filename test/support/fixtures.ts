import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import type { FixtureName } from "./fixture-runs.js";
import { tempDir } from "./temp-dir.js";
import { fixtureRuns } from "./test-run.js";

/**
 * The folder of a fixture run as the e2e global setup left it (recipes, data, runs/, its cache):
 * shared by every test of the run, so only to read, or to name a recipe by the path its runs
 * were trained from.
 */
export function fixturePath(name: FixtureName, ...parts: string[]): string {
  return join(fixtureRuns(inject("testRun")), name, ...parts);
}

/**
 * A copy of a fixture's folder (recipes, data and runs/, not its cache) in `into`, a fresh
 * temporary folder by default, with `files` added: the test's own, to read and change.
 */
export function fixtureCopy(name: FixtureName, files: Record<string, string> = {}, into = tempDir()): string {
  const from = fixturePath(name);
  cpSync(from, into, { recursive: true, filter: (source) => source !== join(from, "cache") });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(into, file), text);
  return into;
}
