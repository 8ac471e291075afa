import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { hasStackTrace, tune } from "../support/cli.js";
import { fixtureCopy } from "../support/fixtures.js";
import { testCache } from "../support/test-cache.js";

// The predict fixture (test/support/fixture-runs.ts): runs/cls (a classifier), runs/gen (a
// generative classifier) and runs/lm (a causal LM), trained on d.csv (id, text, label).

describe("tune predict", () => {
  it("labels every row of a file with the probabilities the engine gives the same texts during evaluation", async () => {
    const dir = fixtureCopy("predict", {
      "new.jsonl": `${JSON.stringify({ text: "what a lovely day", source: "web" })}\n${JSON.stringify({ text: "", source: "empty" })}\n${JSON.stringify({ text: "rude reply again", source: "mail" })}\n`,
    });
    const env = { TUNE_CACHE_DIR: testCache(dir) };

    // The training data itself as new input: the rows of the eval split must get the very
    // probabilities recorded for them at the best checkpoint.
    const result = await tune(["predict", "runs/cls", "--in", "d.csv", "--out", "labelled.csv", "--json"], {
      cwd: dir,
      env,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      checkpoint: string;
      rows: number;
      skipped: number;
      counts: Record<string, number>;
    };
    expect(summary).toMatchObject({ rows: 32, skipped: 0 });
    expect(Object.values(summary.counts).reduce((a, b) => a + b, 0)).toBe(32);
    const rows = parse(readFileSync(join(dir, "labelled.csv")), { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0] ?? {})).toEqual(["id", "text", "label", "p_good", "p_bad"]);
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 32 }, (_, i) => `r${i}`));
    for (const row of rows) {
      expect(Number(row.p_good) + Number(row.p_bad)).toBeCloseTo(1, 5);
      expect(row.label).toBe(Number(row.p_good) >= Number(row.p_bad) ? "good" : "bad");
    }
    const recorded = readFileSync(join(summary.checkpoint, "predictions", "eval.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { id: string; pred: string; probs: Record<string, number> });
    expect(recorded.length).toBe(8);
    // The run names rows by their line in d.csv (the header is line 1).
    for (const { id, pred, probs } of recorded) {
      const row = rows[Number(id) - 2];
      expect(row?.label, id).toBe(pred);
      expect(Number(row?.p_good)).toBeCloseTo(probs.good as number, 5);
    }

    // JSONL keeps the other columns and the probabilities as an object; an empty text still gets a row.
    const jsonl = await tune(["predict", "runs/cls", "--in", "new.jsonl", "--out", "labelled.jsonl"], {
      cwd: dir,
      env,
    });
    expect(jsonl.exitCode, jsonl.stderr).toBe(0);
    expect(jsonl.stdout).toContain("labelled 3 of 3 rows");
    const labelled = readFileSync(join(dir, "labelled.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map(
        (line) => JSON.parse(line) as { text: string; source: string; label: string; probs: Record<string, number> },
      );
    expect(labelled.map((r) => r.source)).toEqual(["web", "empty", "mail"]);
    for (const row of labelled) {
      expect(["good", "bad"]).toContain(row.label);
      expect(Object.keys(row.probs)).toEqual(["good", "bad"]);
    }
  }, 120_000);

  it("writes the raw answer and the label parsed from it for a generative classifier", async () => {
    const dir = fixtureCopy("predict", { "new.csv": "text\nlovely day indeed\nrude reply\n" });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    const result = await tune(["predict", "runs/gen", "--in", "new.csv", "--out", "out.csv"], { cwd: dir, env });
    expect(result.exitCode, result.stderr).toBe(0);
    const rows = parse(readFileSync(join(dir, "out.csv")), { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0] ?? {})).toEqual(["text", "label", "answer"]);
    expect(rows.length).toBe(2);
    for (const row of rows) expect(["good", "bad", "error"]).toContain(row.label);
  }, 120_000);

  it("explains a missing text column, a run that is not a classifier, an unknown output format, a missing --in and an --out nowhere", async () => {
    const dir = fixtureCopy("predict", { "wrong.csv": "body\nhello\n" });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    const column = await tune(["predict", "runs/cls", "--in", "wrong.csv", "--out", "o.csv"], { cwd: dir, env });
    expect(column.exitCode).toBe(2);
    expect(column.stderr).toContain('has no column "text"');
    expect(column.stderr).toContain("Its columns are body");
    const format = await tune(["predict", "runs/cls", "--in", "d.csv", "--out", "o.xlsx"], { cwd: dir, env });
    expect(format.exitCode).toBe(2);
    expect(format.stderr).toContain(".csv, .tsv, .jsonl or .json");
    const missingIn = await tune(["predict", "runs/cls", "--in", "nope.csv", "--out", "o.csv"], { cwd: dir, env });
    expect(missingIn.exitCode).toBe(2);
    expect(missingIn.stderr).toContain(`${join(dir, "nope.csv")}  no such file`);
    const nowhere = await tune(["predict", "runs/cls", "--in", "d.csv", "--out", "no/such/folder/o.csv"], {
      cwd: dir,
      env,
    });
    expect(nowhere.exitCode).toBe(2);
    expect(nowhere.stderr).toContain(`--out  the folder of ${join(dir, "no/such/folder/o.csv")} does not exist`);
    const lm = await tune(["predict", "runs/lm", "--in", "d.csv", "--out", "o.csv"], { cwd: dir, env });
    expect(lm.exitCode).toBe(2);
    expect(lm.stderr).toContain("is a causal-lm run");
    for (const r of [column, format, missingIn, nowhere, lm]) expect(hasStackTrace(r.stderr)).toBe(false);
  }, 120_000);
});
