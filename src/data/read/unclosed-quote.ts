import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

export interface TextPosition {
  line: number;
  column: number;
}

/**
 * Where the quoted field that never closes opens. csv-parse reports where it gave up (the end of
 * the file, or the line after a stray quote ran on), which is not where the user must look; this
 * re-reads the file from the first line of the record that failed and follows RFC 4180's quoting
 * (a quote opens a field only at its start, `""` inside is a literal quote) to the opening quote.
 */
export async function unclosedQuoteAt(
  file: string,
  fromLine: number,
  delimiter: string,
): Promise<TextPosition | undefined> {
  const lines = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  let line = 0;
  let open: TextPosition | undefined;
  let fieldStart = true;
  for await (const text of lines) {
    line++;
    if (line < fromLine) continue;
    const chars = [...(line === 1 ? text.replace(/^\uFEFF/, "") : text)];
    for (let i = 0; i < chars.length; i++) {
      const char = chars[i];
      if (open) {
        if (char !== '"') continue;
        if (chars[i + 1] === '"') i++;
        else open = undefined;
        fieldStart = false;
      } else if (char === '"' && fieldStart) {
        open = { line, column: i + 1 };
      } else {
        fieldStart = char === delimiter;
      }
    }
    // A line break inside quotes belongs to the field; outside, it ends the record.
    if (!open) fieldStart = true;
  }
  lines.close();
  return open;
}
