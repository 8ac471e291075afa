import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { recipeJsonSchema, recipeReferenceMarkdown } from "../../src/recipe/index.js";
import { ROOT } from "../support/cli.js";

describe("generated files", () => {
  it("schema/recipe.schema.json is up to date (run `npm run generate`)", () => {
    const committed = readFileSync(join(ROOT, "schema/recipe.schema.json"), "utf8");
    expect(committed).toBe(`${JSON.stringify(recipeJsonSchema(), null, 2)}\n`);
  });

  it("docs/recipe-reference.md is up to date (run `npm run generate`)", () => {
    expect(readFileSync(join(ROOT, "docs/recipe-reference.md"), "utf8")).toBe(recipeReferenceMarkdown());
  });

  it("src/adapter/lora-kernel-wasm.ts is the compiled lora-kernel.wat (run `npm run generate`)", async () => {
    // @ts-expect-error: a plain .mjs build script without type declarations
    const { compileLoraKernel } = (await import("../../scripts/generate-lora-kernel.mjs")) as {
      compileLoraKernel: () => Promise<string>;
    };
    expect(readFileSync(join(ROOT, "src/adapter/lora-kernel-wasm.ts"), "utf8")).toBe(await compileLoraKernel());
  });

  it("the reference documents every section and field", () => {
    const doc = recipeReferenceMarkdown();
    for (const section of [
      "model",
      "quantization",
      "lora",
      "data",
      "data.split",
      "template",
      "template.few_shot",
      "training",
      "checkpoints",
      "eval",
      "eval.parse",
      "hub",
    ]) {
      expect(doc).toContain(`## \`${section}\``);
    }
    expect(doc).toContain("| `gradient_accumulation` | integer (> 0, <= 65536) | `1` |");
  });
});
