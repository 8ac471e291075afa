/**
 * Where the first byte that is not UTF-8 sits in `bytes` (1-based line, and column in
 * characters), or undefined when all of it decodes. `startLine` numbers the first line of
 * `bytes` when they are one chunk of a longer file.
 */
export function invalidUtf8Position(bytes: Uint8Array, startLine = 1): { line: number; column: number } | undefined {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  try {
    decoder.decode(bytes);
    return undefined;
  } catch {
    // The longest prefix that decodes, found by halving (a chunk can be megabytes).
  }
  let low = 0;
  let high = bytes.length;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      low = mid;
    } catch {
      high = mid - 1;
    }
  }
  // The prefix may end in the first bytes of a character cut short: the error is where it starts.
  let end = low;
  for (; end > 0 && end > low - 4; end--) {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end));
      break;
    } catch {
      // One byte shorter.
    }
  }
  const valid = new TextDecoder("utf-8").decode(bytes.subarray(0, end));
  const lines = valid.split("\n");
  return { line: startLine + lines.length - 1, column: [...(lines.at(-1) ?? "")].length + 1 };
}
