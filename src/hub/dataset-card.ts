import { parse } from "yaml";

/** What tune reads of a dataset repo's default config: its data files per split, or the folder its files are in. */
export interface CardConfig {
  name: string;
  /** split -> patterns, relative to `dataDir` (or the repo's root). */
  dataFiles: Record<string, string[]> | null;
  dataDir: string | null;
}

/** A dataset card (README.md) whose `configs:` cannot be read the way the datasets library reads them. */
export class CardProblem extends Error {}

const SPLIT_NAME = /^\w+(\.\w+)*$/;

/** The YAML block between a first line `---` and the next `---` line, as the datasets library cuts it. */
function frontMatter(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  const end = lines.indexOf("---", 1);
  return lines[0] === "---" && end > 0 ? lines.slice(1, end).join("\n") : undefined;
}

/**
 * The default config of a dataset card's `configs:` (the only one, the one named `default`, or
 * the one with `default: true`), as the datasets library picks it; undefined when the card has
 * no `configs:`. `data_files` may be a pattern, a list of patterns (both the train split) or a
 * list of `{split, path}`.
 */
export function defaultCardConfig(readme: string): CardConfig | undefined {
  const yaml = frontMatter(readme);
  if (yaml === undefined) return undefined;
  let card: unknown;
  try {
    card = parse(yaml, { uniqueKeys: true });
  } catch (error) {
    throw new CardProblem(`its YAML front matter does not parse (${(error as Error).message.split("\n")[0]})`);
  }
  const configs = (card as { configs?: unknown } | null)?.configs;
  if (configs === undefined || configs === null) return undefined;
  if (!Array.isArray(configs) || configs.some((c) => typeof c !== "object" || c === null || Array.isArray(c)))
    throw new CardProblem("`configs` is not a list of configs");
  const named = configs as Array<Record<string, unknown>>;
  if (named.some((c) => typeof c.config_name !== "string")) throw new CardProblem("a config has no `config_name`");
  const defaults = named.filter((c) => named.length === 1 || c.config_name === "default" || c.default === true);
  if (defaults.length > 1)
    throw new CardProblem(`it has several default configs (${defaults.map((c) => c.config_name).join(", ")})`);
  const chosen = defaults[0];
  if (!chosen)
    throw new CardProblem(
      `it has several configs (${named.map((c) => c.config_name).join(", ")}) and none is the default; tune reads only a dataset's default config`,
    );
  const dataDir = chosen.data_dir;
  if (dataDir !== undefined && typeof dataDir !== "string") throw new CardProblem("`data_dir` is not a string");
  return {
    name: chosen.config_name as string,
    dataFiles: chosen.data_files === undefined ? null : splitPatterns(chosen.data_files),
    dataDir: dataDir ?? null,
  };
}

/** `data_files` in any of its three shapes, as split -> patterns (datasets' sanitize_patterns). */
function splitPatterns(value: unknown): Record<string, string[]> {
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((p) => typeof p === "string");
  if (typeof value === "string") return { train: [value] };
  if (strings(value)) return { train: value };
  if (!Array.isArray(value)) throw new CardProblem("`data_files` is neither a pattern nor a list");
  const splits: Record<string, string[]> = {};
  for (const item of value as unknown[]) {
    const { split, path, ...rest } = (item ?? {}) as Record<string, unknown>;
    if (typeof split !== "string" || !SPLIT_NAME.test(split) || Object.keys(rest).length > 0)
      throw new CardProblem(
        "each `data_files` entry must be `{split, path}` with a split name of letters, digits, '_'",
      );
    if (typeof path !== "string" && !strings(path))
      throw new CardProblem(`the path of split ${split} is not a pattern or a list of patterns`);
    if (splits[split]) throw new CardProblem(`split ${split} is listed twice in \`data_files\``);
    splits[split] = typeof path === "string" ? [path] : path;
  }
  return splits;
}
