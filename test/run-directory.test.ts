import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunPlan } from "../src/index.js";
import { ROOT, hasStackTrace, tune } from "./support/cli.js";
import { tempDir } from "./support/temp-dir.js";

const RECIPE = "task: sequence-classification\nmodel: {base: builtin:tiny-llama}\ndata: {file: d.csv, labels: [a, b]}\n";
const DATA = `text,label\n${Array.from({ length: 20 }, (_, i) => `text number ${i},${i % 2 ? "a" : "b"}`).join("\n")}\n`;

describe("tune recipe (before any engine exists)", () => {
  it("writes the run directory with the plan and the recipe as given, then says nothing was trained", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA });
    const result = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir });
    expect(result.exitCode).toBe(4);
    expect(result.stdout.split("\n")[0]).toMatch(/^tune \d+\.\d+\.\d+: run "exp" \(sequence-classification, model builtin:tiny-llama\) in /);
    expect(result.stderr).toContain("nothing was trained: no training engine is part of tune");
    expect(hasStackTrace(result.stderr)).toBe(false);
    const runDir = join(dir, "runs", "exp");
    const plan = JSON.parse(readFileSync(join(runDir, "plan.json"), "utf8")) as RunPlan;
    expect(plan.run_dir).toBe(runDir);
    expect(plan.data.file).toBe(join(dir, "d.csv"));
    expect(readFileSync(join(runDir, "recipe.yaml"), "utf8")).toBe(RECIPE);
    expect(readdirSync(runDir).sort()).toEqual(["plan.json", "recipe.yaml"]);
    expect(Object.keys(plan.data.manifests ?? {})).toEqual(["train", "eval", "test"]);
    expect(result.stdout).toMatch(/^\s+train\s+16\s/m);
  });

  it("--restart moves the previous run aside instead of deleting it", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA });
    await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir });
    writeFileSync(join(dir, "runs/exp/notes.txt"), "keep me");
    const again = await tune(["recipe", "exp.yaml", "--out", "runs", "--restart"], { cwd: dir });
    expect(again.stdout).toMatch(/previous run moved to .*runs\/exp\.old-/);
    const moved = readdirSync(join(dir, "runs")).find((name) => name.startsWith("exp.old-"));
    expect(moved).toBeDefined();
    expect(readFileSync(join(dir, "runs", moved ?? "", "notes.txt"), "utf8")).toBe("keep me");
    expect(existsSync(join(dir, "runs/exp/plan.json"))).toBe(true);
  });

  it("--resume must name an existing checkpoint folder", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA });
    const result = await tune(["recipe", "exp.yaml", "--resume", "runs/exp/checkpoint-9"], { cwd: dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("--resume  checkpoint folder not found");
  });

  it("an output root that cannot be written is a clear user error", async () => {
    if (process.getuid?.() === 0) {
      // root ignores permissions; a regular file in the way makes the root unwritable for anyone.
      const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA, "runs": "not a folder" });
      const result = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/cannot write the run directory .*runs\/exp/);
      expect(hasStackTrace(result.stderr)).toBe(false);
      return;
    }
    const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA });
    mkdirSync(join(dir, "runs"));
    chmodSync(join(dir, "runs"), 0o500);
    const result = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/cannot write the run directory .*: it is not writable/);
  });

  it("--json prints a machine-readable line", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA });
    const result = await tune(["recipe", "exp.yaml", "--json"], { cwd: dir });
    expect(result.exitCode).toBe(4);
    expect(JSON.parse(result.stdout)).toMatchObject({ type: "planned", run_dir: join(dir, "adapters", "exp") });
  });
});

describe("tune runs", () => {
  it("lists the runs under an output root with their status", async () => {
    const dir = tempDir({ "one.yaml": RECIPE, "two.yaml": RECIPE.replace("sequence-classification", "causal-lm").replace(", labels: [a, b]", "").concat("template: {prompt: \"{text}\", completion: \" {label}\"}\n"), "d.csv": DATA });
    await tune(["recipe", "one.yaml", "--out", "runs"], { cwd: dir });
    await tune(["recipe", "two.yaml", "--out", "runs"], { cwd: dir });
    mkdirSync(join(dir, "runs/one/checkpoint-20"));
    mkdirSync(join(dir, "runs/one/checkpoint-10"));
    mkdirSync(join(dir, "runs/not-a-run"));
    const result = await tune(["runs", "--out", "runs", "--json"], { cwd: dir });
    expect(result.exitCode).toBe(0);
    const runs = JSON.parse(result.stdout) as Array<{ name: string; task: string; status: string; checkpoints: number[] }>;
    expect(runs.map((r) => [r.name, r.task, r.status, r.checkpoints]).sort()).toEqual([
      ["one", "sequence-classification", "started", [10, 20]],
      ["two", "causal-lm", "planned", []],
    ]);
    const table = await tune(["runs", "--out", "runs"], { cwd: dir });
    expect(table.stdout).toMatch(/^one\s+sequence-classification\s+started\s+2 \(last 20\)/m);
  });

  it("says so when there are no runs", async () => {
    const result = await tune(["runs", "--out", join(ROOT, "no-such-root")]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("no runs under");
  });
});
