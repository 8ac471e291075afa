import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunPlan } from "../src/index.js";
import { hasStackTrace, tune } from "./support/cli.js";
import { tempDir } from "./support/temp-dir.js";

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
      "chats.jsonl": `${JSON.stringify({ messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }] })}\n`,
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
      "bad.ts": "export default { task: 'causal-lm', model: { base: 'builtin:tiny-llama' }, data: { train: 'x.jsonl' }, training: { lr: 'fast' } };\n",
    });
    const result = await tune(["validate", join(dir, "bad.ts")]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`${join(dir, "bad.ts")}  data.train: file not found`);
    expect(result.stderr).toContain(`${join(dir, "bad.ts")}  training.lr: expected a number, found "fast" (text)`);
  });

  it("a module that throws or exports nothing is a clear user error", async () => {
    const dir = tempDir({ "throws.ts": "throw new Error('no GPU budget this month');\n", "empty.ts": "export const unrelated = 1;\n" });
    const throws = await tune(["validate", join(dir, "throws.ts")]);
    expect(throws.exitCode).toBe(2);
    expect(throws.stderr).toContain("could not load the recipe module: no GPU budget this month");
    expect(hasStackTrace(throws.stderr)).toBe(false);
    const empty = await tune(["validate", join(dir, "empty.ts")]);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain("the module exports no recipe");
  });
});
