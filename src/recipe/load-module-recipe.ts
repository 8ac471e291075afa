import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createJiti } from "jiti";
import { TuneError, type SourceLocation } from "../errors/index.js";

// Built, the entry is index.js beside this folder; under the test runner it is index.ts.
const packageEntry = [".js", ".ts"]
  .map((ext) => fileURLToPath(new URL(`../index${ext}`, import.meta.url)))
  .find((path) => existsSync(path));

/**
 * Loads a recipe written in TypeScript or JavaScript: the module's default export (or its
 * `recipe` export), possibly a promise. `import ... from "tune"` inside it resolves to this
 * very package, wherever the recipe lives. A module that fails to parse, throws, or exports a
 * promise that rejects is the user's error, reported at the module's own file:line:column.
 */
export async function loadModuleRecipe(file: string): Promise<unknown> {
  const jiti = createJiti(import.meta.url, {
    interopDefault: false,
    moduleCache: false,
    fsCache: false,
    alias: packageEntry ? { tune: packageEntry } : {},
  });
  let module: Record<string, unknown>;
  try {
    module = (await jiti.import(file)) as Record<string, unknown>;
  } catch (error) {
    throw moduleFailed(
      file,
      "could not load the recipe module",
      error,
      "Fix the error in the module (run it with `npx tsc --noEmit` for type errors).",
    );
  }
  const value = module.default ?? module.recipe;
  if (value === undefined) {
    throw TuneError.single({
      code: "recipe-module-no-export",
      message: "the module exports no recipe",
      location: { file },
      hint: "Add `export default defineRecipe({ ... })`.",
    });
  }
  try {
    return await value;
  } catch (error) {
    throw moduleFailed(
      file,
      "the recipe module's default export is a promise that rejected",
      error,
      "Fix what the module computes before it exports the recipe.",
    );
  }
}

function moduleFailed(file: string, what: string, error: unknown, hint: string): TuneError {
  const message = error instanceof Error ? error.message : String(error);
  return TuneError.single({
    code: "recipe-module-failed",
    message: `${what}: ${(message.split("\n")[0] ?? "").trim() || String(error)}`,
    location: whereIn(file, error),
    hint,
  });
}

/**
 * The place in the module the error points at: a parse error names `file:line:col` in its
 * message (jiti puts it on the second line), a thrown error in its stack. A stack frame of the
 * transpiled module can point past the source's lines; then only the file is named.
 */
function whereIn(file: string, error: unknown): SourceLocation {
  const text = error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : "";
  const lines = readFileSync(file, "utf8").split("\n");
  for (const match of text.matchAll(/(?:file:\/\/)?(\/[^\s():]+):(\d+):(\d+)/g)) {
    const [line, column] = [Number(match[2]), Number(match[3])];
    if (match[1] === file && line <= lines.length && column <= (lines[line - 1]?.length ?? 0) + 1)
      return { file, line, column };
  }
  return { file };
}
