import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

const CHECK = join(ROOT, "scripts", "gpu-e2e", "check.mjs");
const GB = 1e9;

/** One scenario's record as run.py writes it on a GPU: sound, its estimate 5% above the peak. */
function scenario(name: string) {
  return {
    name,
    shape: name,
    architecture: "meta-llama/x",
    steps: 3,
    status: "ok",
    failures: [] as Array<{ stage: string; error: string }>,
    training: {
      steps: 3,
      losses: [11.9, 11.2, 10.4],
      grad_norms: [1.2, 0.9, 0.8],
      tokens_per_s: 9000,
      median_step_tokens_per_s: 10000,
      mfu: 0.38,
      median_step_mfu: 0.42,
    },
    memory: {
      estimate_bytes: 21 * GB,
      peak_bytes: 20 * GB,
      estimate_error: 0.05,
      load_allocated_bytes: 17 * GB,
      train_allocated_bytes: 19 * GB,
    },
    packing: { match: true, relative_difference: 2e-3 },
    reload: { match: true, max_abs_difference: 0 },
  };
}

/** A GPU result on which every goal of issue 15 is met. */
function gpuResults() {
  const rows = ["lora-bias", "trainer-1b", "collective-action", "stop-hate"].map(scenario);
  const way = (name: string, tokensPerSecond: number, peak: number) => ({
    way: name,
    seconds: 1,
    tokens_per_s: tokensPerSecond,
    peak_allocated_bytes: peak,
    loss: 0.69,
    mfu: 0.1,
  });
  (rows[1] as Record<string, unknown>).trainer = {
    tokens: 70000,
    ways: [
      way("tune torch engine", 30000, 3 * GB),
      way("seed-style Trainer (pad to max_length)", 10000, 4 * GB),
      way("tuned Trainer (dynamic padding, group_by_length)", 20000, 3.5 * GB),
    ],
  };
  return {
    format: "tune-gpu-e2e-results",
    format_version: 1,
    dry: false,
    planned: rows.map((r) => r.name),
    scenarios: rows,
    skipped: [] as Array<{ name: string; why: string }>,
  };
}

async function check(results: ReturnType<typeof gpuResults>) {
  const dir = tempDir();
  writeFileSync(join(dir, "results.json"), JSON.stringify(results));
  return execa("node", [CHECK, dir], { reject: false });
}

/** check.mjs's verdicts, which can only be exercised on a GPU result, on results made to order. */
describe("scripts/gpu-e2e/check.mjs", () => {
  it("passes a GPU result that meets every goal, naming each one met", async () => {
    const result = await check(gpuResults());
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/met\s+1B: tune's engine >= 1.3x the tuned Trainer's real tokens\/s: 1.50x/);
    expect(result.stdout).toMatch(/met\s+1B: tune's engine >= 2x the seed-style Trainer's real tokens\/s: 3.00x/);
    expect(result.stdout).toMatch(/met\s+8B SFT \(collective-action\): >= 40% MFU .*: 42.0% at the median step/);
    expect(result.stdout.match(/^\s+met\s+\S+: the memory estimate within 15%/gm)).toHaveLength(4);
    expect(result.stdout).not.toContain("not met");
  });

  it("exits 3 on a missed goal and says by how much", async () => {
    const results = gpuResults();
    (results.scenarios[2] as ReturnType<typeof scenario>).training.median_step_mfu = 0.31;
    const ways = (results.scenarios[1] as unknown as { trainer: { ways: Array<{ peak_allocated_bytes: number }> } })
      .trainer.ways;
    (ways[0] as { peak_allocated_bytes: number }).peak_allocated_bytes = 3.6 * GB;
    const result = await check(results);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toMatch(/not met\s+8B SFT \(collective-action\).*: 31.0% at the median step/);
    expect(result.stdout).toMatch(/not met\s+1B: tune's engine at no more peak memory than either Trainer: 3.60 GB/);
  });

  it("exits 1 when a scenario failed or was skipped, and counts its goals as not measured", async () => {
    const results = gpuResults();
    const failed = results.scenarios[0] as ReturnType<typeof scenario>;
    failed.status = "failed";
    failed.failures.push({ stage: "reload", error: "RuntimeError: shapes differ" });
    results.scenarios.pop();
    results.skipped.push({ name: "stop-hate", why: "time budget: 401 s had passed of 400" });
    const result = await check(results);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/FAIL lora-bias \(loss [^)]*\): reload failed: RuntimeError: shapes differ/);
    expect(result.stdout).toMatch(/FAIL stop-hate: skipped: time budget/);
    expect(result.stdout).toMatch(/not measured\s+stop-hate: the memory estimate within 15%/);
  });

  it("judges a --cpu-dry result on soundness alone: its goals are the GPU's", async () => {
    const results = { ...gpuResults(), dry: true };
    (results.scenarios[2] as ReturnType<typeof scenario>).training.median_step_mfu = 0.01;
    const result = await check(results);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/GPU only\s+8B SFT/);
    expect(result.stdout).not.toMatch(/not met/);
  });
});
