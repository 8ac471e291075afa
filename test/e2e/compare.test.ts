import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tune } from "../support/cli.js";
import { fixtureCopy } from "../support/fixtures.js";
import { testCache } from "../support/test-cache.js";

describe("tune compare", () => {
  it("puts zero-shot, few-shot and a fine-tune in one table on the same test rows, evaluating what was not yet", async () => {
    // The compare fixture: runs/zero and runs/few (prompting), runs/tuned (a classifier) on one
    // split of d.csv, and runs/elsewhere on other rows.
    const dir = fixtureCopy("compare");
    const env = { TUNE_CACHE_DIR: testCache(dir) };

    const compared = await tune(["compare", "runs/zero", "runs/few", "runs/tuned", "--json"], { cwd: dir, env });
    expect(compared.exitCode, compared.stderr).toBe(0);
    const table = JSON.parse(compared.stdout) as {
      split: string;
      warning: string | null;
      runs: Array<{ name: string; approach: string; checkpoint: string; metrics: Record<string, number> }>;
    };
    expect(table.split).toBe("test");
    expect(table.warning).toBeNull();
    expect(table.runs.map((r) => [r.name, r.approach])).toEqual([
      ["zero", "zero-shot"],
      ["few", "few-shot (1 per class)"],
      ["tuned", "fine-tuned (classifier head)"],
    ]);
    for (const run of table.runs) expect(run.metrics.accuracy).toBeTypeOf("number");
    // The zero-shot run only evaluated eval during its run; its test metrics were computed now and kept.
    const zeroMetrics = JSON.parse(
      readFileSync(join(table.runs[0]?.checkpoint as string, "metrics.json"), "utf8"),
    ) as Record<string, { metrics: Record<string, number> }>;
    expect(zeroMetrics.test?.metrics.accuracy).toBe(table.runs[0]?.metrics.accuracy);
    const tuned = JSON.parse(readFileSync(join(table.runs[2]?.checkpoint as string, "metrics.json"), "utf8")) as Record<
      string,
      { metrics: Record<string, number> }
    >;
    expect(table.runs[2]?.metrics.accuracy).toBe(tuned.test?.metrics.accuracy);

    const text = await tune(["compare", "runs/zero", "runs/tuned", "runs/elsewhere"], { cwd: dir, env });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^run\s+approach\s+model\s+accuracy/m);
    expect(text.stderr).toContain("warning: the runs' test splits come from different data");
  }, 120_000);
});
