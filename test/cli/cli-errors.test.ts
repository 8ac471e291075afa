import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasStackTrace, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

describe("tune validate on a recipe with several mistakes", () => {
  it("reports a misspelled key, a wrong type, a missing file and an out-of-range value in one run", async () => {
    const dir = tempDir({
      "recipe.yaml": [
        "task: sequence-classification",
        "model:",
        "  base: builtin:tiny-llama",
        "data:",
        "  train: data/missing.csv",
        "  labels: [neg, pos]",
        "lora:",
        "  dropout: 2",
        "training:",
        "  lr: fast",
        "  epocs: 3",
        "",
      ].join("\n"),
    });
    const result = await tune(["validate", join(dir, "recipe.yaml")]);
    expect(result.exitCode).toBe(2);
    expect(hasStackTrace(result.stderr)).toBe(false);
    const file = join(dir, "recipe.yaml");
    expect(result.stderr).toContain(`${file}:5:10  data.train: file not found: ${join(dir, "data/missing.csv")}`);
    expect(result.stderr).toContain(`${file}:8:12  lora.dropout: expected a number < 1, found 2`);
    expect(result.stderr).toContain(`${file}:10:7  training.lr: expected a number, found "fast" (text)`);
    expect(result.stderr).toContain(`${file}:11:3  training.epocs: unknown field`);
    expect(result.stderr).toContain("Did you mean `epochs`?");
    expect(result.stderr).toContain("4 problems; nothing was changed.");
    expect(result.stdout).toBe("");
  });

  it("gives the same problems as JSON with --json", async () => {
    const dir = tempDir({
      "recipe.yaml":
        "task: causal-lm\nmodel:\n  base: builtin:tiny-llama\ndata:\n  train: nope.jsonl\n  max_length: 0\n",
    });
    const result = await tune(["validate", join(dir, "recipe.yaml"), "--json"]);
    expect(result.exitCode).toBe(2);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      exit_code: number;
      problems: Array<{ field: string; location: { line: number } }>;
    };
    expect(report.ok).toBe(false);
    expect(report.exit_code).toBe(2);
    expect(report.problems.map((p) => [p.field, p.location.line])).toEqual([
      ["data.train", 5],
      ["data.max_length", 6],
    ]);
  });

  it("a recipe that does not exist is a user error, not a crash", async () => {
    const result = await tune(["validate", "no/such/recipe.yaml"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/recipe not found: .*no\/such\/recipe\.yaml/);
    expect(result.stderr).toContain("tune init");
    expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it("an empty recipe says what a recipe needs", async () => {
    const dir = tempDir({ "recipe.yaml": "# nothing yet\n" });
    const result = await tune(["validate", join(dir, "recipe.yaml")]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("the recipe is empty");
  });

  it("an unsupported file type is refused with the supported ones", async () => {
    const dir = tempDir({ "recipe.toml": "task = 1\n" });
    const result = await tune(["validate", join(dir, "recipe.toml")]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("cannot read a recipe from a .toml file");
  });

  it("a bad --model or --engine flag is reported against the flag", async () => {
    const result = await tune([
      "validate",
      "recipes/quickstart.yaml",
      "--model",
      "builtin:tiny-gpt",
      "--engine",
      "jax",
    ]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--model  model.base: no built-in model "tiny-gpt"');
    expect(result.stderr).toContain('--engine  engine: expected one of "auto", "torch", "tfjs", found "jax" (text)');
  });

  it("flags with a bad number echo what was typed", async () => {
    for (const [flag, value] of [
      ["--max-steps", "abc"],
      ["--max-steps", "0"],
      ["--max-steps", "1.5"],
      ["--show-examples", "-2"],
    ] as const) {
      const result = await tune(["validate", "recipes/quickstart.yaml", flag, value]);
      expect(result.exitCode, `${flag} ${value}`).toBe(2);
      expect(result.stderr).toContain(`argument '${value}' is invalid. expected a whole number of`);
      expect(result.stderr).not.toContain("NaN");
    }
  });
});

describe("files named on the command line that are not there", () => {
  it("tune metrics on a missing file or a folder: exit 2, naming it", async () => {
    const dir = tempDir({ "gold.csv": "gold,pred\na,a\n", "folder.csv/inside.txt": "x" });
    const metrics = await tune(["metrics", join(dir, "nope.jsonl")]);
    expect(metrics.exitCode).toBe(2);
    expect(metrics.stderr).toContain(`${join(dir, "nope.jsonl")}  no such file`);
    const folder = await tune(["metrics", join(dir, "folder.csv")]);
    expect(folder.exitCode).toBe(2);
    expect(folder.stderr).toContain("this is a folder, not a data file");
    for (const result of [metrics, folder]) expect(hasStackTrace(result.stderr)).toBe(false);
  });
});
