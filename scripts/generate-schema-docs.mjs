// Writes the files generated from the recipe schema: the JSON Schema editors use and the
// Markdown reference. A test fails when they are stale; run `npm run generate` after changing
// src/recipe/schema.ts.
import { writeFileSync } from "node:fs";
import { recipeJsonSchema, recipeReferenceMarkdown } from "../dist/recipe/index.js";

const root = new URL("../", import.meta.url);
writeFileSync(new URL("schema/recipe.schema.json", root), `${JSON.stringify(recipeJsonSchema(), null, 2)}\n`);
writeFileSync(new URL("docs/recipe-reference.md", root), recipeReferenceMarkdown());
console.log("wrote schema/recipe.schema.json and docs/recipe-reference.md");
