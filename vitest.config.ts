import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    pool: "forks",
    // Tests never write into the user's real cache.
    env: { TUNE_CACHE_DIR: join(tmpdir(), `tune-test-cache-${process.pid}`) },
  },
});
