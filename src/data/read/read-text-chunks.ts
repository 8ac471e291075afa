import { createReadStream } from "node:fs";
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
      throw dataError(file, line + countInvalidLineOffset(chunk), "the file is not valid UTF-8", "Save the file as UTF-8 (most editors and pandas' to_csv(encoding='utf-8') do).");
    }
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) line++;
    yield text;
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}

/** Lines before the first invalid byte of a chunk that failed to decode. */
function countInvalidLineOffset(chunk: Buffer): number {
  const probe = new TextDecoder("utf-8", { fatal: true });
  let low = 0;
  let high = chunk.length;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    try {
      probe.decode(chunk.subarray(0, mid), { stream: true });
      low = mid;
    } catch {
      high = mid - 1;
    }
  }
  let lines = 0;
  for (let i = 0; i < low; i++) if (chunk[i] === 0x0a) lines++;
  return lines;
}
