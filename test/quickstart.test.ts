import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tune } from "./support/cli.js";
import { tempDir } from "./support/temp-dir.js";

describe("the quickstart recipe", () => {
  it("trains a classifier on the tiny built-in model from chance to clearly learned, in seconds", async () => {
    const out = tempDir();
    const result = await tune(["recipe", "recipes/quickstart.yaml", "--out", out, "--json"], { env: { TUNE_CACHE_DIR: join(out, "cache") } });
    expect(result.exitCode).toBe(0);
    const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { type: string; split?: string; accuracy?: number; examples?: number; loss?: number });
    const steps = events.filter((e) => e.type === "step");
    expect((steps.at(-1)?.loss ?? 1) < (steps[0]?.loss ?? 0)).toBe(true);
    const test = events.find((e) => e.type === "eval" && e.split === "test");
    expect(test?.examples).toBe(72);
    // Two balanced classes: chance is 0.5.
    expect(test?.accuracy).toBeGreaterThanOrEqual(0.75);
  }, 120_000);
});
