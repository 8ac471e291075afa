import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import type { TestProject } from "vitest/node";
import { FIXTURE_RUNS, type FixtureRun } from "./fixture-runs.js";
import { fixtureRuns, linkBuiltinModels } from "./test-run.js";

const BIN = fileURLToPath(new URL("../../bin/tune.js", import.meta.url));

/** Writes a fixture's folder and trains its recipes in order with the built CLI, as a user would. */
async function trainFixture(run: string, name: string, fixture: FixtureRun): Promise<void> {
  const dir = join(fixtureRuns(run), name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(fixture.files)) writeFileSync(join(dir, file), text);
  const env = { TUNE_CACHE_DIR: linkBuiltinModels(run, join(dir, "cache")) };
  for (const recipe of fixture.train) {
    const trained = await execa("node", [BIN, "recipe", recipe, "--out", "runs"], { cwd: dir, env, reject: false });
    if (!(fixture.exitCodes ?? [0]).includes(trained.exitCode ?? -1))
      throw new Error(`fixture run ${name}: tune recipe ${recipe} exited ${trained.exitCode}\n${trained.stderr}`);
  }
}

/**
 * Global setup of the e2e tier (after setup-builtin-models.ts): trains every fixture run of
 * test/support/fixture-runs.ts once per vitest run, as many at a time as there are cores, each in
 * <run>/fixtures/<name>. Tests take copies (fixtureCopy in test/support/fixtures.ts).
 */
export default async function setup(project: TestProject): Promise<void> {
  const run = project.getProvidedContext().testRun;
  const queue = Object.entries(FIXTURE_RUNS);
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await trainFixture(run, next[0], next[1]);
  };
  await Promise.all(Array.from({ length: availableParallelism() }, worker));
}
