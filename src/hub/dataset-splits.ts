import type { CardConfig } from "./dataset-card.js";

/**
 * How the `datasets` library (data_files.py, fsspec >= 2023.12 glob rules) finds a Hub dataset's
 * splits when no loading script is involved, reproduced for the file formats tune reads:
 *
 * 1. the default config of the card's `configs:` gives patterns per split (relative to its
 *    `data_dir`); else
 * 2. shards named `data/<split>-NNNNN-of-NNNNN*.*` give one split each (train, validation, test
 *    first, then the rest sorted); else
 * 3. the first of these that matches any file: `*.eval` logs (split `logs`); folders named for
 *    a split keyword; file names holding one; every file (split `train`). Keywords: train,
 *    training; validation, valid, dev, val; test, testing, eval, evaluation, each standing alone
 *    or set off by one of `-._ ` or a digit.
 *
 * Hidden files and folders and `__special__` folders are skipped unless a pattern names them,
 * as are README.md, config.json and the other metadata files. Of a split's files, those of its
 * most common format are kept (JSON and JSON Lines count as one, as in the library).
 */

/** A split's files cannot be found the way the datasets library would find them. */
export class SplitProblem extends Error {}

const SPLIT_KEYWORDS: Record<string, string[]> = {
  train: ["train", "training"],
  validation: ["validation", "valid", "dev", "val"],
  test: ["test", "testing", "eval", "evaluation"],
};
const SEP = "[-._ 0-9]";
const IN_DIR_NAME = ["**/{k}/**", `**/{k}${SEP}*/**`, `**/*${SEP}{k}/**`, `**/*${SEP}{k}${SEP}*/**`];
const IN_FILE_NAME = [`**/{k}${SEP}*`, `**/*${SEP}{k}${SEP}*`];
const SHARDED = "data/{split}-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]*.*";
const SPLIT_NAME = /^\w+(\.\w+)*$/;
const FILES_TO_IGNORE = new Set([
  "README.md",
  "config.json",
  "dataset_info.json",
  "dataset_infos.json",
  "dummy_data.zip",
  "dataset_dict.json",
]);
/** The formats tune reads, by extension; `.json` and `.jsonl` are one format to the library (its json module). */
const FORMAT_GROUP: Record<string, string> = { parquet: "parquet", csv: "csv", json: "json", jsonl: "json" };

const keywordPatterns = (bases: string[]) =>
  Object.fromEntries(
    Object.entries(SPLIT_KEYWORDS).map(([split, words]) => [
      split,
      words.flatMap((k) => bases.map((base) => base.replaceAll("{k}", k))),
    ]),
  );
const DEFAULT_PATTERN_SETS: Array<Record<string, string[]>> = [
  { logs: ["**/*.eval"] },
  keywordPatterns(IN_DIR_NAME),
  keywordPatterns(IN_FILE_NAME),
  { train: ["**"] },
];

/** A glob as fsspec >= 2023.12 reads it: `*` and `?` within a name, `[...]` a class, `**` alone any number of folders. */
export function globRegExp(pattern: string): RegExp {
  const parts = pattern.split("/");
  let source = "";
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    if (part === "**") source += last ? ".*" : "(?:[^/]*/)*";
    else source += nameRegExp(part) + (last ? "" : "/");
  });
  return new RegExp(`^${source}$`);
}

function nameRegExp(part: string): string {
  let out = "";
  for (let i = 0; i < part.length; i++) {
    const char = part[i] as string;
    if (char === "*") {
      while (part[i + 1] === "*") i++;
      out += "[^/]*";
    } else if (char === "?") out += "[^/]";
    else if (char === "[" && part.indexOf("]", i + 2) > 0) {
      const end = part.indexOf("]", i + 2);
      let body = part.slice(i + 1, end);
      const negated = body.startsWith("!") || body.startsWith("^");
      if (negated) body = body.slice(1);
      out += `[${negated ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      i = end;
    } else out += char.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return out;
}

/** Hidden (`.x`) and special (`__x`) parts a path has beyond those its pattern names: such files are skipped. */
function unrequested(path: string, pattern: string): boolean {
  const hidden = (p: string) => p.split("/").filter((part) => part.startsWith(".") && !/^\.+$/.test(part)).length;
  const special = (p: string) =>
    p
      .split("/")
      .slice(0, -1)
      .filter((part) => part.startsWith("__")).length;
  return hidden(path) !== hidden(pattern) || special(path) !== special(pattern);
}

/** The files a pattern matches, sorted as fsspec's glob returns them; a pattern without wildcards must match. */
function resolvePattern(pattern: string, paths: readonly string[]): string[] {
  const regex = globRegExp(pattern);
  const ignored = new Set([...FILES_TO_IGNORE].filter((name) => name !== pattern.split("/").at(-1)));
  const matched = paths
    .filter((path) => regex.test(path) && !ignored.has(path.split("/").at(-1) as string) && !unrequested(path, pattern))
    .sort();
  if (matched.length === 0 && !/[*?[]/.test(pattern))
    throw new SplitProblem(`the card names ${pattern}, which the repo does not have`);
  return matched;
}

function defaultPatterns(paths: readonly string[]): Record<string, string[]> {
  const shardRegex = globRegExp(SHARDED.replace("{split}", "*"));
  const shards = paths.filter((path) => shardRegex.test(path) && !unrequested(path, SHARDED));
  if (shards.length > 0) {
    const names = new Set(
      shards.map((path) => /^(.+)-[0-9]{5}-of-[0-9]{4}/.exec(path.slice("data/".length))?.[1] ?? ""),
    );
    const bad = [...names].filter((name) => !SPLIT_NAME.test(name));
    if (bad.length > 0)
      throw new SplitProblem(`its shard names give split names the datasets library refuses: ${bad.join(", ")}`);
    const known = Object.keys(SPLIT_KEYWORDS).filter((name) => names.has(name));
    const others = [...names].filter((name) => !known.includes(name)).sort();
    return Object.fromEntries([...known, ...others].map((name) => [name, [SHARDED.replace("{split}", name)]]));
  }
  for (const set of DEFAULT_PATTERN_SETS) {
    const found = Object.entries(set).filter(([, patterns]) =>
      patterns.some((pattern) => resolvePattern(pattern, paths).length > 0),
    );
    if (found.length > 0) return Object.fromEntries(found);
  }
  return {};
}

/** The files of the most common readable format among a split's files, or a problem naming what was found. */
function readableFiles(split: string, files: string[]): string[] {
  const group = (path: string) => FORMAT_GROUP[(/\.([^./]+)$/.exec(path)?.[1] ?? "").toLowerCase()];
  const counts = new Map<string, number>();
  for (const file of files) {
    const format = group(file);
    if (format) counts.set(format, (counts.get(format) ?? 0) + 1);
  }
  const [top] = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  if (!top && files.length > 0)
    throw new SplitProblem(
      `the files of split ${split} (${files.slice(0, 3).join(", ")}${files.length > 3 ? ", ..." : ""}) are in no format tune reads (Parquet, CSV, JSON Lines, JSON)`,
    );
  return files.filter((file) => group(file) === top?.[0]);
}

/**
 * Every split of a dataset repo with its files in reading order (shards in name order), from
 * the repo's file paths and its card's default config.
 */
export function datasetSplits(paths: readonly string[], card: CardConfig | undefined): Record<string, string[]> {
  const base = card?.dataDir?.replace(/^\.?\/+|\/+$/g, "") ?? "";
  const inBase = base ? paths.filter((p) => p.startsWith(`${base}/`)).map((p) => p.slice(base.length + 1)) : paths;
  const patterns = card?.dataFiles ?? defaultPatterns(inBase);
  return Object.fromEntries(
    Object.entries(patterns).map(([split, list]) => {
      const files = [...new Set(list.flatMap((pattern) => resolvePattern(pattern, inBase)))];
      return [split, readableFiles(split, files).map((file) => (base ? `${base}/${file}` : file))];
    }),
  );
}

/** Repo paths given by name or by glob, each of which must match, in the order given (a glob's matches sorted). */
export function filesByPatterns(paths: readonly string[], patterns: readonly string[]): string[] {
  const files = patterns.flatMap((pattern) => {
    const regex = globRegExp(pattern);
    const matched = paths.filter((path) => regex.test(path)).sort();
    if (matched.length === 0) throw new SplitProblem(`no file of the repo matches ${pattern}`);
    return matched;
  });
  return [...new Set(files)];
}
