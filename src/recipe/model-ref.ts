import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, resolve } from "node:path";

export const BUILTIN_MODELS = ["tiny-llama", "tiny-bert"] as const;

/** Where a recipe's `model.base` comes from, decided once so validation and resolution agree. */
export type ModelRef =
  { kind: "builtin"; name: string } | { kind: "local"; path: string } | { kind: "hub"; id: string };

const HUB_ID = /^(?:[A-Za-z0-9][\w.-]{0,95}\/)?[A-Za-z0-9][\w.-]{0,95}$/;

/**
 * A value that looks like a path (`./`, `../`, `/`, `~`) or names an existing folder next to
 * the recipe is local; `builtin:` names a built-in model; anything else is a Hub id.
 */
export function classifyModelRef(base: string, baseDir: string): ModelRef {
  if (base.startsWith("builtin:")) return { kind: "builtin", name: base.slice("builtin:".length) };
  const expanded = base === "~" || base.startsWith("~/") ? homedir() + base.slice(1) : base;
  const path = isAbsolute(expanded) ? expanded : resolve(baseDir, expanded);
  if (/^(\.{1,2}([/\\]|$)|[/\\~])/.test(base) || isAbsolute(base) || existsSync(path)) return { kind: "local", path };
  return { kind: "hub", id: base };
}

/** Why a string is not a valid Hub id, or undefined when it is one. */
export function hubIdProblem(id: string): string | undefined {
  if (!HUB_ID.test(id)) return "a Hub id is `name` or `owner/name` using letters, digits, '-', '_' and '.'";
  if (id.includes("--") || id.includes("..")) return "a Hub id cannot contain '--' or '..'";
  if (/[.-]$/.test(id)) return "a Hub id cannot end with '.' or '-'";
  return undefined;
}

/**
 * Why a string is not a revision a Hub can have (a branch, tag or commit as git names them), or
 * undefined. Revisions become cache paths (refs/<revision>), so this is checked wherever one
 * comes in: a recipe, a flag, an adapter's metadata.
 */
export function revisionProblem(revision: string): string | undefined {
  if (!/^[A-Za-z0-9._/-]{1,200}$/.test(revision))
    return "a revision is a branch, tag or commit using letters, digits, '.', '_', '-' and '/'";
  if (revision.startsWith("/") || revision.endsWith("/") || revision.endsWith(".") || revision.endsWith(".lock"))
    return "a revision cannot start or end with '/', or end with '.' or '.lock'";
  if (revision.split("/").some((part) => part === "" || part.startsWith(".")))
    return "a revision cannot have an empty part or a part starting with '.' (such as '..')";
  return undefined;
}

const MAX_PATH = 1024;

/** Why a repo-relative path (from a recipe or a Hub listing) is unsafe to join under a folder, or undefined when it is safe. */
export function repoPathProblem(path: unknown): string | undefined {
  if (typeof path !== "string" || path === "") return "not a non-empty string";
  if (path.length > MAX_PATH) return "longer than any real file path";
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return "absolute";
  if (/[\\\0-\x1f\x7f]/.test(path)) return "holds a backslash or a control character";
  if (path.split("/").some((part) => part === "" || part === "." || part === ".."))
    return "has an empty, '.' or '..' segment";
  return undefined;
}
