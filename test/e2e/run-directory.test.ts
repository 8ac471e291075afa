import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunPlan } from "../../src/index.js";
import { ROOT, hasStackTrace, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

const RECIPE =
  "task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\ndata: {file: d.csv, labels: [a, b]}\n";
const DATA = `text,label\n${Array.from({ length: 20 }, (_, i) => `text number ${i},${i % 2 ? "a" : "b"}`).join("\n")}\n`;

describe("tune recipe", () => {
  it("prepares the data, writes the run directory and trains on the tfjs engine", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA });
    const result = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir });
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe(`starting exp in ${join(dir, "runs", "exp")}`);
    expect(lines[1]).toBe("engine: tfjs (the recipe asks for it)");
    expect(result.stdout).toMatch(/^\s+train\s+16\s/m);
    expect(result.stdout).toMatch(/^training on tfjs \((wasm|cpu) backend\): 6 steps/m);
    const runDir = join(dir, "runs", "exp");
    const plan = JSON.parse(readFileSync(join(runDir, "plan.json"), "utf8")) as RunPlan;
    expect(plan.run_dir).toBe(runDir);
    expect(plan.data.file).toBe(join(dir, "d.csv"));
    expect(Object.keys(plan.data.manifests ?? {})).toEqual(["train", "eval", "test"]);
    expect(readFileSync(join(runDir, "recipe.yaml"), "utf8")).toBe(RECIPE);
    // keep: 2 newest, plus the best (by eval f1_weighted) wherever it is.
    const best = JSON.parse(readFileSync(join(runDir, "best.json"), "utf8")) as {
      checkpoint: string;
      step: number;
      metric: string;
      split: string;
      passed: boolean;
    };
    expect(best).toMatchObject({ metric: "f1_weighted", split: "eval", passed: true });
    const kept = [...new Set(["checkpoint-4", "checkpoint-6", `checkpoint-${best.step}`])].sort();
    expect(readdirSync(runDir).sort()).toEqual(
      [...kept, "best.json", "events.jsonl", "plan.json", "recipe.yaml", "report.html"].sort(),
    );
    expect(readdirSync(join(runDir, "checkpoint-6")).sort()).toEqual([
      "MANIFEST.json",
      "adapter_config.json",
      "adapter_model.safetensors",
      "metrics.json",
      "optimizer.safetensors",
      "predictions",
      "trainer_state.json",
    ]);
    // Every checkpoint records what it was made from.
    const manifest = JSON.parse(readFileSync(join(runDir, "checkpoint-6", "MANIFEST.json"), "utf8")) as {
      provenance: Record<string, unknown>;
    };
    expect(manifest.provenance).toMatchObject({
      recipe_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      plan_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      dataset_key: expect.stringMatching(/^[0-9a-f]{32}$/),
      tokenizer_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      tune_version: expect.any(String),
      engine: { name: "tfjs", tfjs: "4.22.0" },
    });
    const events = readFileSync(join(runDir, "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string });
    expect(events[0]?.type).toBe("start");
    expect(events.map((e) => e.type).slice(-2)).toEqual(["end", "best"]);
    expect(events.filter((e) => e.type === "checkpoint")).toHaveLength(3);
    // Every checkpoint is judged on the eval and test splits as it is written.
    expect(events.filter((e) => e.type === "eval")).toHaveLength(6);
  });

  it("re-running a finished run resumes at its last checkpoint and trains nothing more", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA });
    await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir });
    const again = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir });
    expect(again.exitCode).toBe(0);
    expect(again.stdout.split("\n")[0]).toBe(`resuming exp from ${join(dir, "runs/exp/checkpoint-6")} (step 6)`);
    expect(again.stdout).not.toMatch(/^step \d/m);
  });

  it("refuses to resume a run whose recipe changed, listing the differences", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA });
    await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir });
    writeFileSync(join(dir, "exp.yaml"), `${RECIPE}lora: {r: 4}\ntraining: {lr: 0.001}\n`);
    const again = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain("lora.r: 16 -> 4");
    expect(again.stderr).toContain("training.lr: 0.0002 -> 0.001");
    expect(again.stderr).toContain("--restart");
  });

  it("refuses to resume when the data files changed under the same recipe", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA });
    await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir });
    writeFileSync(join(dir, "d.csv"), DATA.replace("text number 3,", "text number three,"));
    const again = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/the data changed since .*checkpoint-6 was written/);
    expect(again.stderr).toContain("--restart");
    expect(hasStackTrace(again.stderr)).toBe(false);
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

  it("--resume must name an existing checkpoint folder of this very run", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA });
    const result = await tune(["recipe", "exp.yaml", "--out", "runs", "--resume", "runs/exp/checkpoint-9"], {
      cwd: dir,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--resume {2}cannot resume from .*checkpoint-9: no MANIFEST\.json/);
    const elsewhere = await tune(["recipe", "exp.yaml", "--out", "runs", "--resume", "other/checkpoint-2"], {
      cwd: dir,
    });
    expect(elsewhere.exitCode).toBe(2);
    expect(elsewhere.stderr).toMatch(
      /cannot resume from .*other\/checkpoint-2: it is not a checkpoint-<step> folder of .*runs\/exp/,
    );
  });

  it("an output root that cannot be written is a clear environment error", async () => {
    if (process.getuid?.() === 0) {
      // root ignores permissions; a regular file in the way makes the root unwritable for anyone.
      const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA, runs: "not a folder" });
      const result = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir });
      expect(result.exitCode).toBe(4);
      expect(result.stderr).toMatch(/cannot write the run directory .*runs\/exp: a file is in the way/);
      expect(hasStackTrace(result.stderr)).toBe(false);
      return;
    }
    const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA });
    mkdirSync(join(dir, "runs"));
    chmodSync(join(dir, "runs"), 0o500);
    const result = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir });
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toMatch(/cannot write the run directory .*: permission was denied/);
  });

  it("--json streams the engine events as JSON lines", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA });
    const result = await tune(["recipe", "exp.yaml", "--json"], { cwd: dir });
    expect(result.exitCode).toBe(0);
    const events = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; checkpoint?: string });
    expect(events[0]).toMatchObject({ type: "start", engine: "tfjs", total_steps: 6 });
    expect(events.find((e) => e.type === "end")).toMatchObject({
      checkpoint: join(dir, "adapters", "exp", "checkpoint-6"),
    });
    expect(events.at(-1)).toMatchObject({ type: "best", passed: true });
  });
});

describe("tune runs", () => {
  it("lists the runs under an output root with their status", async () => {
    const dir = tempDir({
      "one.yaml": RECIPE,
      "two.yaml": RECIPE.replace("sequence-classification", "causal-lm")
        .replace(", labels: [a, b]", "")
        .concat('template: {prompt: "{text}", completion: " {label}"}\n'),
      "d.csv": DATA,
    });
    await tune(["recipe", "one.yaml", "--out", "runs"], { cwd: dir });
    await tune(["recipe", "two.yaml", "--out", "runs"], { cwd: dir });
    mkdirSync(join(dir, "runs/not-a-run"));
    const result = await tune(["runs", "--out", "runs", "--json"], { cwd: dir });
    expect(result.exitCode).toBe(0);
    const runs = JSON.parse(result.stdout) as Array<{
      name: string;
      task: string;
      state: { kind: string; step: number };
      best: { metric: string; step: number };
    }>;
    expect(runs.map((r) => [r.name, r.task, r.state]).sort()).toEqual([
      ["one", "sequence-classification", { kind: "finished", step: 6 }],
      ["two", "causal-lm", { kind: "finished", step: 6 }],
    ]);
    expect(runs.find((r) => r.name === "two")?.best.metric).toBe("loss");
    const table = await tune(["runs", "--out", "runs"], { cwd: dir });
    expect(table.stdout).toMatch(/^one\s+sequence-classification\s+finished \(6\)\s+eval\.f1_weighted \d\.\d{4} @\d/m);
  });

  it("says so when there are no runs", async () => {
    const result = await tune(["runs", "--out", join(ROOT, "no-such-root")]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("no runs under");
  });
});
