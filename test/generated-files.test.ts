import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { recipeJsonSchema, recipeReferenceMarkdown } from "../src/recipe/index.js";
import { ROOT } from "./support/cli.js";

describe("files generated from the schema", () => {
  it("schema/recipe.schema.json is up to date (run `npm run generate`)", () => {
    const committed = readFileSync(join(ROOT, "schema/recipe.schema.json"), "utf8");
    expect(committed).toBe(`${JSON.stringify(recipeJsonSchema(), null, 2)}\n`);
  });

  it("docs/recipe-reference.md is up to date (run `npm run generate`)", () => {
    expect(readFileSync(join(ROOT, "docs/recipe-reference.md"), "utf8")).toBe(recipeReferenceMarkdown());
  });

  it("the reference documents every section and field", () => {
    const doc = recipeReferenceMarkdown();
    for (const section of ["model", "quantization", "lora", "data", "data.split", "template", "template.few_shot", "training", "checkpoints", "eval", "eval.parse", "hub"]) {
      expect(doc).toContain(`## \`${section}\``);
    }
    expect(doc).toContain("| `gradient_accumulation` | integer (> 0, <= 65536) | `1` |");
  });
});
