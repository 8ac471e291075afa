import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

const DATA = `text,label\n${Array.from({ length: 40 }, (_, i) => `"post ${i}: ${i % 2 ? "we oppose the march" : "we support the march"}",${i % 2 ? "oppose" : "support"}`).join("\n")}\n`;
const DATA_BLOCK =
  "data: {file: d.csv, labels: [oppose, support], split: {eval: 0.2, test: 0.2, seed: 5}, max_length: 160}\n";
const PROMPT = 'template:\n  prompt: "Support or oppose?\\nText: {text}\\nAnswer:"\n';

describe("tune compare", () => {
  it("puts zero-shot, few-shot and a fine-tune in one table on the same test rows, evaluating what was not yet", async () => {
    const dir = tempDir({
      "d.csv": DATA,
      "other.csv": DATA,
      "zero.yaml": `task: prompting\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\n${DATA_BLOCK}${PROMPT}generation: {max_new_tokens: 2}\neval: {splits: [eval]}\n`,
      "few.yaml": `task: prompting\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\n${DATA_BLOCK}${PROMPT}  few_shot: {per_class: 1, seed: 2}\ngeneration: {max_new_tokens: 2}\n`,
      "tuned.yaml": `task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\n${DATA_BLOCK}training: {max_steps: 6, batch_size: 8, lr: 0.02}\n`,
      "elsewhere.yaml": `task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\n${DATA_BLOCK.replace("d.csv", "other.csv").replace("seed: 5", "seed: 6")}training: {max_steps: 1, batch_size: 8}\n`,
    });
    const env = { TUNE_CACHE_DIR: join(dir, "cache") };
    for (const recipe of ["zero", "few", "tuned", "elsewhere"])
      expect((await tune(["recipe", `${recipe}.yaml`, "--out", "runs"], { cwd: dir, env })).exitCode).toBe(0);

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
