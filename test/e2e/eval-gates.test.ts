import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tune } from "../support/cli.js";
import { REVIEWS } from "../support/fixture-runs.js";
import { fixtureCopy } from "../support/fixtures.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

// The reviews fixture (test/support/fixture-runs.ts) holds runs/exp, trained from RECIPE on DATA.
const { data: DATA, recipe: RECIPE } = REVIEWS;

describe("tune eval and gates", () => {
  it("re-evaluates any checkpoint to the numbers recorded during training, and evaluates a new data file", async () => {
    const dir = fixtureCopy("reviews", {
      "new.csv": "text,label\nworks well indeed,positive\nwaste of money again,negative\n",
    });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    const checkpoint = join(dir, "runs/exp/checkpoint-3");
    const recorded = JSON.parse(readFileSync(join(checkpoint, "metrics.json"), "utf8")) as Record<
      string,
      { metrics: Record<string, number> }
    >;
    const again = await tune(["eval", checkpoint, "--split", "test", "--json"], { cwd: dir, env });
    expect(again.exitCode, again.stderr).toBe(0);
    const [test] = JSON.parse(again.stdout) as Array<{ split: string; metrics: Record<string, number> }>;
    expect(test?.split).toBe("test");
    expect(test?.metrics).toEqual(recorded.test?.metrics);

    const external = await tune(["eval", checkpoint, "--data", "new.csv"], { cwd: dir, env });
    expect(external.exitCode, external.stderr).toBe(0);
    expect(external.stdout).toMatch(/^new\.csv: 2 examples {2}loss \d\.\d{4} {2}accuracy/m);
    expect(external.stdout).toContain(join(checkpoint, "data-eval", "new", "predictions", "test.jsonl"));

    const missing = await tune(["eval", join(dir, "runs/exp/checkpoint-99")], { cwd: dir, env });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain("checkpoint-99 does not exist");
  }, 120_000);

  it("exits 3 when the best checkpoint fails its gate, and records why", async () => {
    const dir = tempDir({
      "exp.yaml": `${RECIPE}eval: {gates: ["f1_weighted > 1", "test.loss < 100"]}\n`,
      "d.csv": DATA,
    });
    const result = await tune(["recipe", "exp.yaml", "--out", "runs"], {
      cwd: dir,
      env: { TUNE_CACHE_DIR: testCache(dir) },
    });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toMatch(/^gate f1_weighted > 1: FAILED \(\d\.\d{4}\)$/m);
    expect(result.stdout).toMatch(/^gate test\.loss < 100: passed/m);
    const best = JSON.parse(readFileSync(join(dir, "runs/exp/best.json"), "utf8")) as {
      passed: boolean;
      gates: Array<{ text: string; passed: boolean }>;
    };
    expect(best.passed).toBe(false);
    expect(best.gates.map((g) => g.passed)).toEqual([false, true]);
  }, 120_000);
});
