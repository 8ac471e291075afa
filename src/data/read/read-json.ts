import { createReadStream } from "node:fs";
import StreamChain from "stream-chain";
import StreamJson from "stream-json";
import StreamArray from "stream-json/streamers/StreamArray.js";
import { dataError } from "../data-error.js";
import type { SourceRow } from "./source-row.js";

/**
 * Streams a JSON file holding an array of objects, element by element, so the whole array is
 * never materialised. Rows are numbered by position (item 1 is the first element).
 */
export async function* readJson(file: string): AsyncGenerator<SourceRow> {
  const pipeline = StreamChain.chain([createReadStream(file), StreamJson.parser(), StreamArray.streamArray()]);
  let item = 0;
  try {
    for await (const { value } of pipeline as AsyncIterable<{ key: number; value: unknown }>) {
      item++;
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw dataError(
          file,
          item,
          `array item ${item} is not an object`,
          "A JSON data file is an array of objects whose keys are the columns.",
        );
      }
      yield { values: value as Record<string, unknown>, line: item };
    }
  } catch (error) {
    if (error instanceof Error && error.name !== "TuneError") {
      throw dataError(
        file,
        undefined,
        `invalid JSON: ${error.message}`,
        'A JSON data file is one array of objects: [{"text": "...", "label": "..."}, ...]. For one object per line, name the file .jsonl.',
      );
    }
    throw error;
  }
  if (item === 0)
    throw dataError(file, undefined, "the file holds no rows", "A JSON data file is a non-empty array of objects.");
}
