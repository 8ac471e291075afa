import { Readable } from "node:stream";
import { parse, CsvError } from "csv-parse";
import { TuneError } from "../../errors/index.js";
import { dataError } from "../data-error.js";
import { readTextChunks } from "./read-text-chunks.js";
import { refuseRepeatedColumns } from "./repeated-columns.js";
import type { SourceRow } from "./source-row.js";
import { unclosedQuoteAt } from "./unclosed-quote.js";

const CANDIDATE_DELIMITERS = [",", ";", "\t", "|"];

/**
 * Streams a CSV file as header-keyed rows: quoted fields, embedded newlines, a BOM and any
 * delimiter (detected from the header line unless given).
 */
export async function* readCsv(file: string, delimiter?: string): AsyncGenerator<SourceRow> {
  const chunks = readTextChunks(file);
  const first = await chunks.next();
  if (first.done || first.value.replace(/^\uFEFF/, "").trim() === "") {
    throw dataError(
      file,
      1,
      "the file is empty",
      "A CSV file needs a header row naming its columns, then one row per example.",
    );
  }
  const head = first.value;
  const separator = delimiter ?? detectDelimiter(head);
  const parser = parse({
    columns: (header: string[]) => {
      const names = header.map((name) => name.trim());
      refuseRepeatedColumns(file, names, "header", 1);
      return names;
    },
    bom: true,
    delimiter: separator,
    info: true,
    relax_quotes: false,
    skip_empty_lines: true,
  });
  async function* all() {
    yield head;
    yield* chunks;
  }
  Readable.from(all())
    .on("error", (error) => parser.destroy(error))
    .pipe(parser);
  // csv-parse reports the line a record ends on; a record starts after the previous one ends.
  let previousEnd = 1;
  try {
    for await (const record of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      yield { values: record.record, line: previousEnd + 1 };
      previousEnd = record.info.lines;
    }
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    if (error.code === "CSV_QUOTE_NOT_CLOSED") {
      const opened = await unclosedQuoteAt(file, previousEnd + 1, separator);
      if (opened) {
        throw TuneError.single({
          code: "data-invalid",
          message:
            "malformed CSV: this quote opens a field that is never closed, so the rest of the file was read into it",
          location: { file, ...opened },
          hint: 'Close the quote, or double it ("") if it is part of the text.',
        });
      }
    }
    const line = (error as CsvError & { lines?: number }).lines;
    throw dataError(
      file,
      line,
      `malformed CSV: ${error.message.replace(/^Invalid [^:]*: /, "")}`,
      'Check the quoting on this line: a field with commas, quotes or line breaks must be in double quotes, with inner quotes doubled ("").',
    );
  }
}

/** The candidate that splits the header line into the most fields (outside quotes). */
function detectDelimiter(text: string): string {
  const header = text.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0] ?? "";
  const unquoted = header.replace(/"[^"]*"/g, "");
  let best = ",";
  let bestCount = 0;
  for (const candidate of CANDIDATE_DELIMITERS) {
    const count = unquoted.split(candidate).length - 1;
    if (count > bestCount) {
      best = candidate;
      bestCount = count;
    }
  }
  return best;
}
