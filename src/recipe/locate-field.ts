import { readFileSync } from "node:fs";
import type { SourceLocation } from "../errors/index.js";
import { parseYamlSource } from "./yaml-source.js";

/**
 * Where a field sits in a recipe file (line and column in a YAML recipe), for problems found
 * after the recipe loaded, such as a Hub dataset without the split it names. A file that no
 * longer reads gives the file alone.
 */
export function locateRecipeField(file: string, path: readonly PropertyKey[]): SourceLocation {
  if (!/\.ya?ml$/i.test(file)) return { file };
  try {
    return parseYamlSource(readFileSync(file, "utf8"), file).locateValue(path);
  } catch {
    return { file };
  }
}
