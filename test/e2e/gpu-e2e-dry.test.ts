import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { referencePython } from "../support/reference-python.js";
import { tempDir } from "../support/temp-dir.js";

const SCRIPTS = join(ROOT, "scripts", "gpu-e2e");
const SCENARIOS = ["lora-bias", "trainer-1b", "collective-action", "stop-hate"];

interface Scenario {
  name: string;
  plan: string;
  model: string;
  steps: number;
  estimate: { bytes: { total: number } };
}

interface Training {
  steps: number;
  losses: number[];
  grad_norms: number[];
  tokens: number;
  speed: { padding_free: boolean; lean_loss: boolean };
  warnings: string[];
}

interface ScenarioResult {
  name: string;
  status: string;
  failures: Array<{ stage: string; error: string; traceback: string }>;
  steps: number;
  training: Training;
  memory: { estimate_bytes: number };
  packing: { match: boolean; packed_rows: number; padded_batches: number; packed_loss: number; padded_loss: number };
  reload: { match: boolean; max_abs_difference: number };
  trainer?: { tokens: number; ways: Array<{ way: string; seconds: number; loss: number; tokens_per_s: number }> };
}

/**
 * scripts/gpu-e2e as CI runs it, so the GPU proof cannot rot between GPU days: prepare.mjs
 * --cpu-dry, then run.py --cpu-dry with the venv's Python (the very code the GPU runs, on tiny
 * configs of the same architectures), then check.mjs on the files run.py writes.
 */
describe("the GPU proof's CPU dry run", () => {
  it("prepares every scenario to travel, trains each soundly with the engine and the Trainer, and check.mjs passes it", async () => {
    const dir = tempDir();
    const work = join(dir, "work");
    const out = join(dir, "out");

    const prepared = await execa("node", [join(SCRIPTS, "prepare.mjs"), "--cpu-dry", "--work", work], {
      reject: false,
    });
    expect(prepared.exitCode, prepared.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(work, "manifest.json"), "utf8")) as {
      dry: boolean;
      bytes: number;
      scenarios: Scenario[];
    };
    expect(manifest.dry).toBe(true);
    expect(manifest.bytes).toBeLessThan(60 * 2 ** 20);
    expect(manifest.scenarios.map((s) => s.name)).toEqual(SCENARIOS);
    for (const scenario of manifest.scenarios) {
      const plan = JSON.parse(readFileSync(join(work, scenario.plan), "utf8")) as {
        run_dir: string;
        model: { source: { path: string } };
        data: { manifests: Record<string, string> };
        eval: { splits: string[] };
        schedule: { total_steps: number };
      };
      // Everything the worker reads is relative to the folder, so run.py can re-root it there.
      for (const path of [plan.run_dir, plan.model.source.path, ...Object.values(plan.data.manifests)])
        expect(isAbsolute(path), path).toBe(false);
      expect(existsSync(join(work, plan.data.manifests.train as string))).toBe(true);
      expect(plan.eval.splits).toEqual([]);
      expect(plan.schedule.total_steps).toBe(scenario.steps);
      // A config and a tokenizer travel, never weights.
      expect(readdirSync(join(work, scenario.model)).sort()).toEqual([
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
      ]);
      const config = JSON.parse(readFileSync(join(work, scenario.model, "config.json"), "utf8")) as {
        hidden_size: number;
        vocab_size: number;
      };
      expect(config.hidden_size).toBe(64);
      expect([32000, 128256]).toContain(config.vocab_size);
      expect(scenario.estimate.bytes.total).toBeGreaterThan(0);
    }

    const run = await execa(referencePython, [join(SCRIPTS, "run.py"), "--cpu-dry", "--work", work, "--out", out], {
      reject: false,
      timeout: 300_000,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["results.json", "table.txt"]);
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as {
      dry: boolean;
      planned: string[];
      skipped: unknown[];
      scenarios: ScenarioResult[];
    };
    expect(results.dry).toBe(true);
    expect(results.planned).toEqual(SCENARIOS);
    expect(results.skipped).toEqual([]);
    for (const scenario of results.scenarios) {
      expect(scenario.failures.map((f) => f.traceback)).toEqual([]);
      expect(scenario.status).toBe("ok");
      const { training } = scenario;
      expect(training.steps).toBe(scenario.steps);
      expect(training.losses.every(Number.isFinite)).toBe(true);
      expect(training.grad_norms.every((norm) => norm > 0 && Number.isFinite(norm))).toBe(true);
      // Every scenario is a decoder: packed rows and the loss read only where it is trained.
      expect(training.speed).toMatchObject({ padding_free: true, lean_loss: true });
      expect(scenario.packing.match).toBe(true);
      expect(scenario.packing.packed_rows).toBeLessThanOrEqual(scenario.packing.padded_batches);
      expect(scenario.reload.match).toBe(true);
      expect(scenario.reload.max_abs_difference).toBeLessThan(1e-3);
      expect(scenario.memory.estimate_bytes).toBeGreaterThan(0);
    }
    const byName = new Map(results.scenarios.map((s) => [s.name, s]));
    // The NF4 rows ran on the built-in quantizer, and the paged optimizers fell back to AdamW.
    for (const name of ["lora-bias", "stop-hate"]) {
      const warnings = byName.get(name)?.training.warnings.join("\n") ?? "";
      expect(warnings).toContain("built-in quantizer");
      expect(warnings).toContain("using torch's AdamW");
    }
    const comparison = byName.get("trainer-1b")?.trainer;
    expect(comparison?.ways.map((w) => w.way.split(" ")[0])).toEqual(["tune", "seed-style", "tuned"]);
    expect(comparison?.tokens).toBe(byName.get("trainer-1b")?.training.tokens);
    for (const way of comparison?.ways ?? []) {
      expect(way.seconds).toBeGreaterThan(0);
      // The same untrained 2-label classifier on the same data: each way's mean loss near ln 2.
      expect(Math.abs(way.loss - Math.log(2))).toBeLessThan(0.2);
    }

    const check = await execa("node", [join(SCRIPTS, "check.mjs"), out], { reject: false });
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    for (const name of SCENARIOS)
      expect(check.stdout).toMatch(new RegExp(`ok\\s+${name} \\(loss [\\d.]+ -> [\\d.]+, `));
    expect(check.stdout).toContain("GPU only");
  }, 300_000);
});
