import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { hasStackTrace, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

const THINGS = ["parks", "buses", "rent", "rivers", "schools", "clinics", "bikes", "libraries"];
const NONE = [
  "the weather is {} today",
  "my {} broke again",
  "watched a film about {}",
  "cooked {} for dinner",
  "the {} was late this morning",
];
const LEVELS: Record<string, string> = {
  Problem: "the council failed on {}, fix it now",
  Call: "join us to fight for {}, sign up",
  Intent: "i will volunteer for {} next week",
  Done: "we marched for {} yesterday",
};
const fill = (pattern: string, i: number) => pattern.replace("{}", THINGS[i % THINGS.length] as string);
const csv = (header: string, rows: string[][]) =>
  `${header}\n${rows.map((r) => r.map((c) => `"${c}"`).join(",")).join("\n")}\n`;

const STAGE1 = csv(
  "text,label",
  Array.from({ length: 48 }, (_, i) =>
    i % 2
      ? [fill(NONE[i % 5] as string, i), "none"]
      : [fill(Object.values(LEVELS)[(i / 2) % 4] as string, i), "participation"],
  ),
);
const STAGE2 = csv(
  "text,label",
  Array.from({ length: 48 }, (_, i) => [
    fill(Object.values(LEVELS)[i % 4] as string, i + 3),
    Object.keys(LEVELS)[i % 4] as string,
  ]),
);
const END_TO_END = csv(
  "comment,final",
  Array.from({ length: 20 }, (_, i) =>
    i % 2
      ? [fill(NONE[(i + 2) % 5] as string, i + 5), "none"]
      : [fill(Object.values(LEVELS)[(i / 2) % 4] as string, i + 1), Object.keys(LEVELS)[(i / 2) % 4] as string],
  ),
);
const STAGE = (file: string, labels: string) =>
  `task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 16, target_modules: all-linear}\ndata: {file: ${file}, labels: [${labels}], split: {eval: 0.25, seed: 1}}\ntraining: {max_steps: 16, batch_size: 12, lr: 0.02}\n`;
const PIPELINE =
  "stages:\n  - recipe: s1.yaml\n    pass: [participation]\n  - recipe: s2.yaml\ntest:\n  file: e2e.csv\n  columns: {text: comment, label: final}\n";

interface EndToEndRow {
  gold: string;
  pred: string;
  stages: { s1: { label: string } | null; s2: { label: string } | null };
}

describe("layered pipelines", () => {
  it("stage 2 sees exactly the rows stage 1 passed, and the end-to-end report counts a stage-1 miss as wrong", async () => {
    const dir = tempDir({
      "s1.yaml": STAGE("stage1.csv", "participation, none"),
      "s2.yaml": STAGE("stage2.csv", Object.keys(LEVELS).join(", ")),
      "p.yaml": PIPELINE,
      "stage1.csv": STAGE1,
      "stage2.csv": STAGE2,
      "e2e.csv": END_TO_END,
      "new.csv": "text\nwe marched for parks yesterday\ncooked rent for dinner\n",
    });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    const run = await tune(["pipeline", "p.yaml", "--out", "runs", "--json"], { cwd: dir, env });
    expect(run.exitCode, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as {
      end_to_end: { seen: number[]; examples: number; report: { accuracy: number }; predictions: string };
    };
    const { seen, report } = result.end_to_end;
    const rows = readFileSync(result.end_to_end.predictions, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as EndToEndRow);
    expect(rows.length).toBe(20);
    const passed = rows.filter((r) => r.stages.s1?.label === "participation");
    // The classifier passes some rows and stops others, so both paths are exercised.
    expect(passed.length).toBeGreaterThan(0);
    expect(passed.length).toBeLessThan(20);
    expect(seen).toEqual([20, passed.length]);
    for (const row of rows) {
      expect(row.stages.s2 !== null).toBe(row.stages.s1?.label === "participation");
      expect(row.pred).toBe(row.stages.s1?.label === "participation" ? row.stages.s2?.label : row.stages.s1?.label);
    }
    expect(report.accuracy).toBeCloseTo(rows.filter((r) => r.gold === r.pred).length / 20, 10);
    // A participation comment stage 1 calls "none" is wrong end to end, whatever stage 2 would say.
    for (const missed of rows.filter((r) => r.gold !== "none" && r.stages.s1?.label === "none"))
      expect(missed.pred).toBe("none");

    const predicted = await tune(["predict", "p.yaml", "--in", "new.csv", "--out", "out.csv", "--runs", "runs"], {
      cwd: dir,
      env,
    });
    expect(predicted.exitCode, predicted.stderr).toBe(0);
    const out = parse(readFileSync(join(dir, "out.csv")), { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(out[0] ?? {})).toEqual(
      expect.arrayContaining(["text", "label", "s1.label", "s1.p_participation", "s1.p_none", "s2.label"]),
    );
    for (const row of out) {
      if (row["s1.label"] === "participation") expect(row.label).toBe(row["s2.label"]);
      else {
        expect(row.label).toBe("none");
        expect(row["s2.label"]).toBe("");
      }
    }
  }, 120_000);

  it("names the line of a pass label the stage does not have", async () => {
    const dir = tempDir({
      "s1.yaml": STAGE("stage1.csv", "participation, none"),
      "s2.yaml": STAGE("stage2.csv", "a, b"),
      "p.yaml": PIPELINE.replace("pass: [participation]", "pass: [participaton]"),
      "stage1.csv": STAGE1,
      "stage2.csv": STAGE2,
    });
    const result = await tune(["pipeline", "p.yaml"], { cwd: dir });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("p.yaml:3");
    expect(result.stderr).toContain('"participaton" is not one of s1.yaml\'s labels (participation, none)');
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it("tune validate checks a pipeline's own fields, every stage's recipe and data and its test file, naming each problem's line", async () => {
    const dir = tempDir({
      "s1.yaml": STAGE("stage1.csv", "participation, none"),
      "s2.yaml": STAGE("stage2.csv", Object.keys(LEVELS).join(", ")),
      "p.yaml": PIPELINE,
      "bad-stages.yaml": PIPELINE.replace("s1.yaml", "s1-bad.yaml").replace("s2.yaml", "s2-bad.yaml"),
      "s1-bad.yaml": `${STAGE("stage1.csv", "participation, none")}epochs: 3\n`,
      "s2-bad.yaml": STAGE("stage2.csv", Object.keys(LEVELS).join(", ")).replace("lr: 0.02", "lr: -1"),
      "typo.yaml": PIPELINE.replace("test:", "tests:"),
      "bad-test.yaml": PIPELINE.replace("e2e.csv", "e2e-bad.csv"),
      "e2e-bad.csv": END_TO_END.replace(/,"none"\n/, ',"Maybe"\n'),
      "stage1.csv": STAGE1,
      "stage2.csv": STAGE2,
      "e2e.csv": END_TO_END,
    });
    const env = { TUNE_CACHE_DIR: join(dir, "cache") };
    const valid = await tune(["validate", "p.yaml"], { cwd: dir, env });
    expect(valid.exitCode, valid.stderr).toBe(0);
    expect(valid.stdout).toContain('ok: p.yaml is a valid pipeline "p" of 2 stages');
    expect(valid.stdout).toContain(
      'stage 1: s1.yaml is a valid sequence-classification recipe "s1"; rows it labels participation go on to stage 2',
    );
    expect(valid.stdout).toContain('stage 2: s2.yaml is a valid sequence-classification recipe "s2"');
    expect(valid.stdout).toContain("end-to-end test: e2e.csv, 20 rows");

    // Both stages' problems at once, each at its own recipe's line.
    const stages = await tune(["validate", "bad-stages.yaml"], { cwd: dir, env });
    expect(stages.exitCode).toBe(2);
    expect(stages.stderr).toMatch(
      /^error: s1-bad\.yaml:7:1 {2}epochs: unknown field\n {4}`epochs` belongs under `training`/m,
    );
    expect(stages.stderr).toMatch(/^error: s2-bad\.yaml:6:\d+ {2}training\.lr: /m);
    expect(hasStackTrace(stages.stderr)).toBe(false);

    const typo = await tune(["validate", "typo.yaml"], { cwd: dir, env });
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toMatch(/^error: typo\.yaml:5:1 {2}tests: unknown field\n {4}Did you mean `test`\?/m);

    // A final label no stage gives would otherwise surface only after every stage has trained.
    const test = await tune(["validate", "bad-test.yaml"], { cwd: dir, env });
    expect(test.exitCode).toBe(2);
    expect(test.stderr).toContain('has the label "Maybe", which no stage gives as a final answer');
  }, 120_000);
});
