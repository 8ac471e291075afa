import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { hasStackTrace, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";
import { referencePython } from "../support/reference-python.js";

describe("tune metrics", () => {
  it("reports any gold/pred file in scikit-learn's classification_report output_dict shape, a listed label found nowhere as a zero row", async () => {
    const dir = tempDir({
      "preds.csv":
        "id,gold,pred\n1,Left,Left\n2,Left,Center\n3,Center,Center\n4,Right,Left\n5,Right,Right\n6,Center,error\n7,Left,Left\n",
    });
    const result = await tune(["metrics", "preds.csv", "--labels", "Left,Center,Right,Neutral", "--json"], {
      cwd: dir,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const ours = JSON.parse(result.stdout) as {
      report: Record<string, unknown>;
      labels: string[];
      confusion_matrix: number[][];
    };
    expect(ours.labels).toEqual(["Left", "Center", "Right", "Neutral", "error"]);
    expect(ours.report.Neutral).toEqual({ precision: 0, recall: 0, "f1-score": 0, support: 0 });
    const script = `
import csv, json, sys
from sklearn.metrics import classification_report, confusion_matrix
rows = list(csv.DictReader(open(sys.argv[1])))
g, p = [r["gold"] for r in rows], [r["pred"] for r in rows]
labels = ["Left", "Center", "Right", "Neutral", "error"]
print(json.dumps({"report": classification_report(g, p, labels=labels, output_dict=True, zero_division="warn"), "confusion": confusion_matrix(g, p, labels=labels).tolist()}))
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
