import { readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { hasStackTrace, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";
import { referencePython } from "../support/reference-python.js";

const DATA = `text,label\n${Array.from({ length: 40 }, (_, i) => `"review ${i}: ${["great value", "broke quickly", "works well", "waste of money"][i % 4]}",${i % 2 ? "negative" : "positive"}`).join("\n")}\n`;
const RECIPE =
  "task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8}\ndata: {file: d.csv, labels: [positive, negative], split: {eval: 0.2, test: 0.2, seed: 1}}\ntraining: {max_steps: 6, batch_size: 8, lr: 0.01}\ncheckpoints: {every: 3, keep: 2}\n";

describe("tune metrics", () => {
  it("reports any gold/pred file in scikit-learn's classification_report output_dict shape", async () => {
    const dir = tempDir({
      "preds.csv":
        "id,gold,pred\n1,Left,Left\n2,Left,Center\n3,Center,Center\n4,Right,Left\n5,Right,Right\n6,Center,error\n7,Left,Left\n",
    });
    const result = await tune(["metrics", "preds.csv", "--labels", "Left,Center,Right", "--json"], { cwd: dir });
    expect(result.exitCode, result.stderr).toBe(0);
    const ours = JSON.parse(result.stdout) as {
      report: Record<string, unknown>;
      labels: string[];
      confusion_matrix: number[][];
    };
    expect(ours.labels).toEqual(["Left", "Center", "Right", "error"]);
    const script = `
import csv, json, sys
from sklearn.metrics import classification_report, confusion_matrix
rows = list(csv.DictReader(open(sys.argv[1])))
g, p = [r["gold"] for r in rows], [r["pred"] for r in rows]
labels = ["Left", "Center", "Right", "error"]
print(json.dumps({"report": classification_report(g, p, output_dict=True, zero_division="warn"), "confusion": confusion_matrix(g, p, labels=labels).tolist()}))
`;
    const reference = JSON.parse(
      (await execa(referencePython, ["-W", "ignore", "-c", script, join(dir, "preds.csv")])).stdout,
    ) as { report: Record<string, unknown>; confusion: number[][] };
    expect(Object.keys(ours.report).sort()).toEqual(Object.keys(reference.report).sort());
    for (const [key, value] of Object.entries(reference.report)) {
      if (typeof value === "number") expect(ours.report[key]).toBeCloseTo(value, 12);
      else
        for (const [field, number] of Object.entries(value as Record<string, number>))
          expect((ours.report[key] as Record<string, number>)[field], `${key}.${field}`).toBeCloseTo(number, 12);
    }
    expect(ours.confusion_matrix).toEqual(reference.confusion);
    const text = await tune(["metrics", "preds.csv"], { cwd: dir });
    expect(text.stdout).toMatch(/^\s+accuracy\s+0\.5714\s+7$/m);
  }, 60_000);

  it("names the file, row and column of a row without a label", async () => {
    const dir = tempDir({ "preds.jsonl": '{"gold": "a", "pred": "a"}\n{"gold": "b"}\n' });
    const result = await tune(["metrics", "preds.jsonl"], { cwd: dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("preds.jsonl:2");
    expect(result.stderr).toContain("pred: this row has no pred value");
    expect(hasStackTrace(result.stderr)).toBe(false);
  });
});

describe("tune eval and gates", () => {
  it("re-evaluates any checkpoint to the numbers recorded during training, and evaluates a new data file", async () => {
    const dir = tempDir({
      "exp.yaml": RECIPE,
      "d.csv": DATA,
      "new.csv": "text,label\nworks well indeed,positive\nwaste of money again,negative\n",
    });
    const env = { TUNE_CACHE_DIR: join(dir, "cache") };
    expect((await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir, env })).exitCode).toBe(0);
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
      env: { TUNE_CACHE_DIR: join(dir, "cache") },
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
