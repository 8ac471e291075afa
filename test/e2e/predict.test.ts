import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { hasStackTrace, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

const TEXTS = ["lovely day", "awful delay", "great help", "rude reply"];
const DATA = `id,text,label\n${Array.from({ length: 32 }, (_, i) => `r${i},"note ${i}: ${TEXTS[i % 4]}",${i % 2 ? "bad" : "good"}`).join("\n")}\n`;
const CLASSIFIER =
  "task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8}\ndata: {file: d.csv, labels: [good, bad], split: {eval: 0.25, seed: 1}}\ntraining: {max_steps: 4, batch_size: 8, lr: 0.02}\n";

describe("tune predict", () => {
  it("labels every row of a file with the probabilities the engine gives the same texts during evaluation", async () => {
    const dir = tempDir({
      "cls.yaml": CLASSIFIER,
      "d.csv": DATA,
      "new.jsonl": `${JSON.stringify({ text: "what a lovely day", source: "web" })}\n${JSON.stringify({ text: "", source: "empty" })}\n${JSON.stringify({ text: "rude reply again", source: "mail" })}\n`,
    });
    const env = { TUNE_CACHE_DIR: join(dir, "cache") };
    expect((await tune(["recipe", "cls.yaml", "--out", "runs"], { cwd: dir, env })).exitCode).toBe(0);

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
    const recipe =
      'task: generative-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8}\ndata: {file: d.csv, labels: [good, bad], split: {eval: 0.25, seed: 1}, max_length: 48}\ntemplate: {prompt: "Note: {text}\\nVerdict:", completion: " {label}"}\ngeneration: {max_new_tokens: 3}\ntraining: {max_steps: 2, batch_size: 8, lr: 0.01}\n';
    const dir = tempDir({ "gen.yaml": recipe, "d.csv": DATA, "new.csv": "text\nlovely day indeed\nrude reply\n" });
    const env = { TUNE_CACHE_DIR: join(dir, "cache") };
    expect((await tune(["recipe", "gen.yaml", "--out", "runs"], { cwd: dir, env })).exitCode).toBe(0);
    const result = await tune(["predict", "runs/gen", "--in", "new.csv", "--out", "out.csv"], { cwd: dir, env });
    expect(result.exitCode, result.stderr).toBe(0);
    const rows = parse(readFileSync(join(dir, "out.csv")), { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0] ?? {})).toEqual(["text", "label", "answer"]);
    expect(rows.length).toBe(2);
    for (const row of rows) expect(["good", "bad", "error"]).toContain(row.label);
  }, 120_000);

  it("explains a missing text column, a run that is not a classifier, an unknown output format, a missing --in and an --out nowhere", async () => {
    const dir = tempDir({
      "cls.yaml": CLASSIFIER,
      "d.csv": DATA,
      "wrong.csv": "body\nhello\n",
      "lm.yaml":
        "task: causal-lm\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8}\ndata: {file: lm.jsonl, split: {eval: 0.25, seed: 1}, max_length: 32}\ntraining: {max_steps: 1, batch_size: 4}\n",
    });
    writeFileSync(
      join(dir, "lm.jsonl"),
      Array.from({ length: 8 }, (_, i) =>
        JSON.stringify({
          messages: [
            { role: "user", content: `question ${i}` },
            { role: "assistant", content: `answer ${i}` },
          ],
        }),
      ).join("\n"),
    );
    const env = { TUNE_CACHE_DIR: join(dir, "cache") };
    expect((await tune(["recipe", "cls.yaml", "--out", "runs"], { cwd: dir, env })).exitCode).toBe(0);
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
    expect((await tune(["recipe", "lm.yaml", "--out", "runs"], { cwd: dir, env })).exitCode).toBe(0);
    const lm = await tune(["predict", "runs/lm", "--in", "d.csv", "--out", "o.csv"], { cwd: dir, env });
    expect(lm.exitCode).toBe(2);
    expect(lm.stderr).toContain("is a causal-lm run");
    for (const r of [column, format, missingIn, nowhere, lm]) expect(hasStackTrace(r.stderr)).toBe(false);
  }, 120_000);
});
