import { createReadStream } from "node:fs";
import { invalidUtf8Position } from "../../errors/index.js";
import { dataError } from "../data-error.js";

/**
 * Streams a file as UTF-8 text chunks, so a multi-GB file never sits whole in memory. Bytes
 * that are not valid UTF-8 stop the read with the line they are on.
 */
export async function* readTextChunks(file: string): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  let line = 1;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      const at = invalidUtf8Position(chunk, line);
      throw dataError(
        file,
        at?.line ?? line,
        "the file is not valid UTF-8",
        "Save the file as UTF-8 (most editors and pandas' to_csv(encoding='utf-8') do).",
      );
    }
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) line++;
    yield text;
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw dataError(
      file,
      line,
      "the file is not valid UTF-8: it ends in the middle of a character",
      "Save the file as UTF-8 again; a copy cut short ends like this.",
    );
  }
  if (rest) yield rest;
}
