import { statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { formatFieldPath, type Problem } from "../errors/index.js";
import type { Locator } from "./describe-issues.js";
import { didYouMean } from "./did-you-mean.js";
import { BUILTIN_MODELS, classifyModelRef, hubIdProblem } from "./model-ref.js";

const DATA_FIELDS = ["train", "eval", "test", "file"] as const;

/**
 * Checks that what the recipe points at exists: data files, local model folders, built-in
 * model names, and Hub ids of the right form. Works on the raw value, so it reports missing
 * files even when other fields are malformed.
 */
export function checkFiles(raw: unknown, baseDir: string, locator: Locator): Problem[] {
  if (raw === null || typeof raw !== "object") return [];
  const recipe = raw as { model?: { base?: unknown }; data?: Record<string, unknown> };
  const problems: Problem[] = [];
  const report = (path: string[], message: string, hint: string) => {
    const field = formatFieldPath(path);
    problems.push({
      code: "recipe-missing-file",
      message: `${field}: ${message}`,
      field,
      location: locator.locateValue(path),
      hint,
    });
  };

  const base = recipe.model?.base;
  if (typeof base === "string" && base.length > 0) {
    const ref = classifyModelRef(base, baseDir);
    if (ref.kind === "builtin" && !(BUILTIN_MODELS as readonly string[]).includes(ref.name)) {
      const close = didYouMean(ref.name, BUILTIN_MODELS);
      report(
        ["model", "base"],
        `no built-in model "${ref.name}"`,
        close
          ? `Did you mean "builtin:${close}"?`
          : `Built-in models: ${BUILTIN_MODELS.map((m) => `builtin:${m}`).join(", ")}.`,
      );
    } else if (ref.kind === "local" && pathKind(ref.path) !== "folder") {
      report(
        ["model", "base"],
        `model folder not found: ${ref.path}`,
        "Local paths are relative to the recipe's folder; a Hub id looks like `owner/name`.",
      );
    } else if (ref.kind === "hub") {
      const why = hubIdProblem(ref.id);
      if (why)
        report(
          ["model", "base"],
          `"${ref.id}" is neither a local folder nor a Hub id: ${why}`,
          "Use a Hub id (`meta-llama/Llama-3.2-1B`) or a path starting with ./ or /.",
        );
    }
  }

  for (const name of DATA_FIELDS) {
    const value = recipe.data?.[name];
    if (typeof value !== "string" || value.length === 0) continue;
    const path = isAbsolute(value) ? value : resolve(baseDir, value);
    const kind = pathKind(path);
    if (kind === "missing")
      report(["data", name], `file not found: ${path}`, `Paths are relative to the recipe's folder (${baseDir}).`);
    else if (kind === "folder")
      report(
        ["data", name],
        `${path} is a folder, not a data file`,
        "Name a .csv, .jsonl, .json or .parquet file inside it.",
      );
    else if (kind !== "file")
      report(
        ["data", name],
        `cannot read ${path}: ${kind.unreadable}`,
        "Check the path: a name too long for the file system, or a folder without permission, cannot be read.",
      );
  }
  return problems;
}

/** What a path from the recipe names; a path the file system refuses to look at (too long, a loop) says why. */
function pathKind(path: string): "file" | "folder" | "missing" | { unreadable: string } {
  try {
    const found = statSync(path, { throwIfNoEntry: false });
    return !found ? "missing" : found.isDirectory() ? "folder" : "file";
  } catch (error) {
    return { unreadable: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  }
}
