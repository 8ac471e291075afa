import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parquetWriteFile } from "hyparquet-writer";
import { describe, expect, it } from "vitest";
import { formatOf, readRows } from "../../src/data/read/read-rows.js";
import type { SourceRow } from "../../src/data/read/source-row.js";
import { tempDir } from "../support/temp-dir.js";

async function rowsOf(file: string, format = formatOf(file, "auto"), delimiter?: string): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  for await (const row of readRows(file, format, delimiter)) rows.push(row);
  return rows;
}

describe("data readers", () => {
  it("CSV: BOM, quoted fields with commas, doubled quotes and line breaks, line numbers of each record", async () => {
    const dir = tempDir({
      "d.csv": '\uFEFFtext,label\r\n"Hello, world",pos\r\n"She said ""no""\nand left",neg\r\nplain,pos\r\n',
    });
    const rows = await rowsOf(join(dir, "d.csv"));
    expect(rows.map((r) => [r.values, r.line])).toEqual([
      [{ text: "Hello, world", label: "pos" }, 2],
      [{ text: 'She said "no"\nand left', label: "neg" }, 3],
      [{ text: "plain", label: "pos" }, 5],
    ]);
  });

  it("CSV: detects semicolons and tabs, or takes the delimiter it is given", async () => {
    const dir = tempDir({
      "semi.csv": "text;label\na, b;x\n",
      "tabs.tsv": "text\tlabel\na;b\tx\n",
      "pipe.txt": "text|label\na|x\n",
    });
    expect((await rowsOf(join(dir, "semi.csv")))[0]?.values).toEqual({ text: "a, b", label: "x" });
    expect((await rowsOf(join(dir, "tabs.tsv")))[0]?.values).toEqual({ text: "a;b", label: "x" });
    expect((await rowsOf(join(dir, "pipe.txt"), "csv", "|"))[0]?.values).toEqual({ text: "a", label: "x" });
  });

  it("JSONL: one object per line, blank lines skipped, lines counted", async () => {
    const dir = tempDir({ "d.jsonl": '{"text": "a", "label": 1}\n\n{"text": "b\\nc", "label": 0}\n' });
    expect((await rowsOf(join(dir, "d.jsonl"))).map((r) => [r.values, r.line])).toEqual([
      [{ text: "a", label: 1 }, 1],
      [{ text: "b\nc", label: 0 }, 3],
    ]);
  });

  it("JSON: an array of objects, streamed element by element", async () => {
    const items = Array.from({ length: 500 }, (_, i) => ({ text: `t${i}`, label: i % 2 }));
    const dir = tempDir({ "d.json": JSON.stringify(items) });
    const rows = await rowsOf(join(dir, "d.json"));
    expect(rows).toHaveLength(500);
    expect(rows[499]).toEqual({ values: { text: "t499", label: 1 }, line: 500 });
  });

  it("Parquet: rows across several row groups, numbered from 1", async () => {
    const dir = tempDir();
    const file = join(dir, "d.parquet");
    parquetWriteFile({
      filename: file,
      columnData: [
        { name: "text", data: Array.from({ length: 25 }, (_, i) => `article ${i}`), type: "STRING" },
        {
          name: "label",
          data: Array.from({ length: 25 }, (_, i) => ["Left", "Center", "Right"][i % 3] as string),
          type: "STRING",
        },
      ],
      rowGroupSize: 10,
    });
    const rows = await rowsOf(file);
    expect(rows).toHaveLength(25);
    expect(rows[24]).toEqual({ values: { text: "article 24", label: "Left" }, line: 25 });
  });

  it("streams a large CSV without losing or reordering rows", async () => {
    const count = 120_000;
    const dir = tempDir();
    const file = join(dir, "big.csv");
    writeFileSync(
      file,
      `text,label\n${Array.from({ length: count }, (_, i) => `"row ${i}, quoted",${i % 3}`).join("\n")}\n`,
    );
    let n = 0;
    for await (const row of readRows(file, "csv")) {
      if (row.values.text !== `row ${n}, quoted` || row.line !== n + 2)
        throw new Error(`row ${n} came back as ${JSON.stringify(row)}`);
      n++;
    }
    expect(n).toBe(count);
  });
});
