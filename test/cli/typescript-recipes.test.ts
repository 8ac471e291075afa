import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunPlan } from "../../src/index.js";
import { hasStackTrace, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

describe("recipes written in TypeScript", () => {
  it("compute values from the environment and validate with the same schema", async () => {
    const result = await tune(["validate", "recipes/quickstart-sweep.ts", "--json"], { env: { RANK: "4" } });
    expect(result.exitCode).toBe(0);
    const plan = (JSON.parse(result.stdout) as { plan: RunPlan }).plan;
    expect(plan.name).toBe("quickstart-r4");
    expect(plan.lora).toMatchObject({ r: 4, alpha: 8 });
  });

  it("a recipe outside the project imports defineRecipe from tune", async () => {
    const dir = tempDir({
      "exp.mts": [
        'import { defineRecipe } from "tune";',
        "const base = { task: 'causal-lm' as const, model: { base: 'builtin:tiny-llama' }, data: { train: 'chats.jsonl' } };",
        "export default defineRecipe({ ...base, name: 'exp-' + [1, 2].join(''), training: { lr: 3e-4 } });",
      ].join("\n"),
      "chats.jsonl": `${JSON.stringify({
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: "hello" },
        ],
      })}\n`,
    });
    const result = await tune(["validate", join(dir, "exp.mts"), "--json"]);
    expect(result.stderr).toBe("");
    const plan = (JSON.parse(result.stdout) as { plan: RunPlan }).plan;
    expect(plan.name).toBe("exp-12");
    expect(plan.training.lr).toBe(3e-4);
    expect(plan.data.train).toBe(join(dir, "chats.jsonl"));
  });

  it("wrong values are reported by field, with the module as the file", async () => {
    const dir = tempDir({
      "bad.ts":
        "export default { task: 'causal-lm', model: { base: 'builtin:tiny-llama' }, data: { train: 'x.jsonl' }, training: { lr: 'fast' } };\n",
    });
    const result = await tune(["validate", join(dir, "bad.ts")]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`${join(dir, "bad.ts")}  data.train: file not found`);
    expect(result.stderr).toContain(`${join(dir, "bad.ts")}  training.lr: expected a number, found "fast" (text)`);
  });

  it("a syntax error and a default export that rejects are user errors at the module's file:line:col", async () => {
    const dir = tempDir({
      "syntax.ts":
        "import { defineRecipe } from 'tune';\nexport default defineRecipe({\n  task: 'causal-lm',\n  model: { base: 'builtin:tiny-llama' ,\n  data: { train: 'x.jsonl' }\n});\n",
      "rejects.ts": "export default Promise.reject(new Error('the sweep service is down'));\n",
      "throws-value.mjs": "export default (async () => { throw 42; })();\n",
    });
    const syntax = await tune(["validate", join(dir, "syntax.ts")]);
    expect(syntax.exitCode).toBe(2);
    expect(syntax.stderr).toMatch(
      new RegExp(`${join(dir, "syntax.ts")}:6:1 {2}could not load the recipe module: ParseError: Unexpected token`),
    );
    const rejects = await tune(["validate", join(dir, "rejects.ts")]);
    expect(rejects.exitCode).toBe(2);
    expect(rejects.stderr).toContain(
      "the recipe module's default export is a promise that rejected: the sweep service is down",
    );
    const value = await tune(["validate", join(dir, "throws-value.mjs")]);
    expect(value.exitCode).toBe(2);
    expect(value.stderr).toContain("a promise that rejected: 42");
    for (const result of [syntax, rejects, value]) expect(hasStackTrace(result.stderr)).toBe(false);
  });

  it("a module that throws or exports nothing is a clear user error", async () => {
    const dir = tempDir({
      "throws.ts": "throw new Error('no GPU budget this month');\n",
      "empty.ts": "export const unrelated = 1;\n",
    });
    const throws = await tune(["validate", join(dir, "throws.ts")]);
    expect(throws.exitCode).toBe(2);
    expect(throws.stderr).toContain("could not load the recipe module: no GPU budget this month");
    expect(hasStackTrace(throws.stderr)).toBe(false);
    const empty = await tune(["validate", join(dir, "empty.ts")]);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain("the module exports no recipe");
  });
});
