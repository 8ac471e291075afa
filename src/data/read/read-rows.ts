import { statSync } from "node:fs";
import { extname } from "node:path";
import { dataError } from "../data-error.js";
import { readCsv } from "./read-csv.js";
import { readJson } from "./read-json.js";
import { readJsonl } from "./read-jsonl.js";
import { readParquet } from "./read-parquet.js";
import type { DataFormat, SourceRow } from "./source-row.js";

const BY_EXTENSION: Record<string, DataFormat> = {
  ".csv": "csv",
  ".tsv": "csv",
  ".txt": "csv",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".json": "json",
  ".parquet": "parquet",
  ".pq": "parquet",
};

/** The format of a data file: as the recipe says, or by its extension. */
export function formatOf(file: string, format: "auto" | DataFormat): DataFormat {
  if (format !== "auto") return format;
  const found = BY_EXTENSION[extname(file).toLowerCase()];
  if (!found) {
    throw dataError(
      file,
      undefined,
      `cannot tell the format of a ${extname(file) || "extensionless"} file`,
      "Use .csv, .jsonl, .json or .parquet, or set `data.format` in the recipe.",
    );
  }
  return found;
}

/**
 * Streams the rows of any supported data file: the one way tune reads a data file (recipes'
 * splits, `tune predict --in`, `tune eval --data`, `tune metrics`), so a missing file or a
 * folder in its place is said here, naming the file.
 */
export async function* readRows(file: string, format: DataFormat, delimiter?: string): AsyncGenerator<SourceRow> {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat)
    throw dataError(
      file,
      undefined,
      "no such file",
      "Check the path (relative paths in a recipe start at the recipe's folder; on the command line, at the current folder).",
    );
  if (!stat.isFile())
    throw dataError(
      file,
      undefined,
      "this is a folder, not a data file",
      "Name a .csv, .jsonl, .json or .parquet file.",
    );
  yield* rowsOf(file, format, delimiter);
}

function rowsOf(file: string, format: DataFormat, delimiter?: string): AsyncGenerator<SourceRow> {
  switch (format) {
    case "csv":
      return readCsv(file, delimiter ?? (extname(file).toLowerCase() === ".tsv" ? "\t" : undefined));
    case "jsonl":
      return readJsonl(file);
    case "json":
      return readJson(file);
    case "parquet":
      return readParquet(file);
  }
}
