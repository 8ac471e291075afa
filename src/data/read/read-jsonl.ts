import { dataError } from "../data-error.js";
import { readTextChunks } from "./read-text-chunks.js";
import type { SourceRow } from "./source-row.js";

/** Streams a JSON Lines file: one JSON object per line, blank lines allowed. */
export async function* readJsonl(file: string): AsyncGenerator<SourceRow> {
  let pending = "";
  let line = 0;
  let rows = 0;
  const parseLine = (text: string): SourceRow | undefined => {
    line++;
    const trimmed = (line === 1 ? text.replace(/^\uFEFF/, "") : text).trim();
    if (trimmed === "") return undefined;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      throw dataError(
        file,
        line,
        `invalid JSON: ${(error as Error).message}`,
        'Each line must be one complete JSON object, e.g. {"text": "...", "label": "..."}.',
      );
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw dataError(
        file,
        line,
        "expected a JSON object on this line",
        "Each line must be one JSON object whose keys are the columns.",
      );
    }
    rows++;
    return { values: value as Record<string, unknown>, line };
  };
  for await (const chunk of readTextChunks(file)) {
    pending += chunk;
    let start = 0;
    for (let newline = pending.indexOf("\n"); newline !== -1; newline = pending.indexOf("\n", start)) {
      const row = parseLine(pending.slice(start, newline));
      if (row) yield row;
      start = newline + 1;
    }
    pending = pending.slice(start);
  }
  const last = parseLine(pending);
  if (last) yield last;
  if (rows === 0) throw dataError(file, undefined, "the file is empty", "A JSONL file holds one JSON object per line.");
}
