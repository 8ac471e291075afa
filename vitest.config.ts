import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

/**
 * Three tiers (DEVELOPERS.md): unit imports src/ and runs in the test process; cli runs processes
 * (the built CLI, Python for a reference) and trains nothing; e2e is where engines run models.
 * `npm run test:unit` is the inner loop; `npm test` runs all three, then pytest.
 */
const tier = (name: string) => ({
  extends: true as const,
  test: { name, include: [`test/${name}/**/*.test.ts`] },
});

export default defineConfig({
  test: {
    projects: [tier("unit"), tier("cli"), tier("e2e")],
    testTimeout: 60_000,
    pool: "forks",
    // Test files mostly wait on the processes they start, so one file per core, not one less.
    maxWorkers: availableParallelism(),
    // Tests never write into the user's real cache.
    env: { TUNE_CACHE_DIR: join(tmpdir(), `tune-test-cache-${process.pid}`) },
  },
});
