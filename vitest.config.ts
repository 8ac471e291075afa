import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

/**
 * Three tiers (DEVELOPERS.md): unit imports src/ and runs in the test process; cli runs processes
 * (the built CLI, Python for a reference) and trains nothing; e2e is where engines run models.
 * `npm run test:unit` is the inner loop; `npm test` runs all three, then pytest.
 */
const BUILTIN_MODELS = "test/support/setup-builtin-models.ts";
const FIXTURE_RUNS = "test/support/setup-fixture-runs.ts";
const tier = (name: string, globalSetup: string[]) => ({
  extends: true as const,
  test: { name, include: [`test/${name}/**/*.test.ts`], globalSetup },
});

/** What this run's tests share (test/support/test-run.ts); removed when the run ends. */
const RUN = join(tmpdir(), `tune-test-${process.pid}`);

export default defineConfig({
  test: {
    projects: [
      tier("unit", [BUILTIN_MODELS]),
      tier("cli", [BUILTIN_MODELS]),
      tier("e2e", [BUILTIN_MODELS, FIXTURE_RUNS]),
    ],
    testTimeout: 60_000,
    pool: "forks",
    // Test files mostly wait on the processes they start, so one file per core, not one less.
    maxWorkers: availableParallelism(),
    provide: { testRun: RUN },
    env: {
      // Tests never write into the user's real cache.
      TUNE_CACHE_DIR: join(RUN, "cache"),
      // Each worker's engines would otherwise run a thread per core and spin against the other
      // worker's: one thread each took the suite from 522 s to 448 s on 2 cores. Runs compared
      // bit for bit are made alike; references are compared within float tolerances.
      OMP_NUM_THREADS: "1",
    },
  },
});
