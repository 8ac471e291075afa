import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { describe, expect, it } from "vitest";
import { hasStackTrace, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

/** A Parquet file written by hyparquet-writer (a real writer, not bytes made by hand). */
function parquet(columnData: Array<{ name: string; data: string[] }>): Buffer {
  return Buffer.from(parquetWriteBuffer({ columnData }));
}

/** The same file with bytes inside its column chunks overwritten: the footer still reads. */
function damagedPages(file: Buffer): Buffer {
  const damaged = Buffer.from(file);
  damaged.fill(0xff, 10, 60);
  return damaged;
}

const CLASSIFIER = (file: string, extra = "") =>
  `task: sequence-classification\nmodel: {base: builtin:tiny-llama}\ndata:\n  train: ${file}\n  labels: [neg, pos]\n${extra}`;

interface BadCase {
  name: string;
  files: Record<string, string | Buffer>;
  recipe: string;
  expected: RegExp;
}

const CASES: BadCase[] = [
  {
    name: "a missing column",
    files: { "d.csv": "body,label\nhello,pos\n" },
    recipe: CLASSIFIER("d.csv"),
    expected: /d\.csv:2 {2}missing column "text" \(data\.columns\.text\); the file has: body, label/,
  },
  {
    name: "an empty file",
    files: { "d.csv": "" },
    recipe: CLASSIFIER("d.csv"),
    expected: /d\.csv:1 {2}the file is empty/,
  },
  {
    name: "labels outside the label list, with the first rows and the values seen",
    files: { "d.csv": "text,label\na,pos\nb,Positive\nc,neg\nd,negativ\n" },
    recipe: CLASSIFIER("d.csv"),
    expected:
      /d\.csv:3 {2}label: labels not in the recipe's label list \(line 3: "Positive", line 5: "negativ"\); unknown values seen: "Positive", "negativ"/,
  },
  {
    // Clear the screen, set the window title: shown as escapes, never acted on by the terminal.
    name: "a label holding terminal control sequences",
    files: { "d.csv": "text,label\na,pos\nb,\u001b[2J\u001b]0;owned\u0007\u009b31m\n" },
    recipe: CLASSIFIER("d.csv"),
    expected: /label list \(line 3: "\\x1b\[2J\\x1b\]0;owned\\x07\\x9b31m"\)/,
  },
  {
    name: "malformed CSV quoting",
    files: { "d.csv": 'text,label\n"unclosed,pos\nok,neg\n' },
    recipe: CLASSIFIER("d.csv"),
    // Named where the quote opens (line 2, column 1), not where the parser gave up (the end).
    expected: /d\.csv:2:1 {2}malformed CSV: this quote opens a field that is never closed/,
  },
  {
    name: "an unclosed quote after a well-quoted multi-line field: named where it opens",
    files: { "d.csv": 'text,label\n"two\nlines",pos\nplain,neg\nstill ok,"pos\nnext,neg\nlast,pos\n' },
    recipe: CLASSIFIER("d.csv"),
    expected: /d\.csv:5:10 {2}malformed CSV: this quote opens a field that is never closed/,
  },
  {
    name: "a header that names a column twice",
    files: { "d.csv": "text,label,text\nfirst,pos,second\n" },
    recipe: CLASSIFIER("d.csv"),
    expected: /d\.csv:1 {2}the header names "text" more than once, so only the last of each would be read/,
  },
  {
    name: "a header with two empty column names",
    files: { "d.csv": "text,,label,\na,x,pos,y\n" },
    recipe: CLASSIFIER("d.csv"),
    expected: /d\.csv:1 {2}the header names an empty column more than once/,
  },
  {
    name: "a Parquet schema that names a column twice",
    files: {
      "d.parquet": parquet([
        { name: "text", data: ["a", "b"] },
        { name: "label", data: ["pos", "neg"] },
        { name: "text", data: ["c", "d"] },
      ]),
    },
    recipe: CLASSIFIER("d.parquet"),
    expected: /d\.parquet {2}the schema names "text" more than once/,
  },
  {
    name: "a Parquet file with a valid footer and damaged pages",
    files: {
      "d.parquet": damagedPages(
        parquet([
          { name: "text", data: Array.from({ length: 40 }, (_, i) => `text ${i}`) },
          { name: "label", data: Array.from({ length: 40 }, (_, i) => (i % 2 ? "pos" : "neg")) },
        ]),
      ),
    },
    recipe: CLASSIFIER("d.parquet"),
    expected: /d\.parquet:1 {2}row group 1 \(rows 1-40\) cannot be decoded/,
  },
  {
    name: "a file that ends in the middle of a UTF-8 character",
    files: { "d.csv": Buffer.concat([Buffer.from("text,label\nok,pos\ncaf"), Buffer.from("é").subarray(0, 1)]) },
    recipe: CLASSIFIER("d.csv"),
    expected: /d\.csv:3 {2}the file is not valid UTF-8: it ends in the middle of a character/,
  },
  {
    name: "a data path that is a folder",
    files: { "d.csv/inner.csv": "text,label\nok,pos\n" },
    recipe: CLASSIFIER("d.csv"),
    expected: /recipe\.yaml:4:10 {2}data\.train: .*d\.csv is a folder, not a data file/,
  },
  {
    name: "an invalid JSON line",
    files: { "d.jsonl": '{"text": "a", "label": "pos"}\n{"text": "b", "label": }\n' },
    recipe: CLASSIFIER("d.jsonl"),
    expected: /d\.jsonl:2 {2}invalid JSON: /,
  },
  {
    name: "bytes that are not UTF-8",
    files: {
      "d.csv": Buffer.concat([
        Buffer.from("text,label\nfine,pos\ncaf"),
        Buffer.from([0xe9]),
        Buffer.from(" latin-1,neg\n"),
      ]),
    },
    recipe: CLASSIFIER("d.csv"),
    expected: /d\.csv:3 {2}the file is not valid UTF-8/,
  },
  {
    name: "a template placeholder with no column",
    files: { "d.csv": "text,label\nhello,pos\n" },
    recipe: `task: generative-classification\nmodel: {base: builtin:tiny-llama}\ndata: {train: d.csv, labels: [neg, pos]}\ntemplate: {prompt: "Headline: {headline}\\nLabel:"}\n`,
    expected: /d\.csv:2 {2}missing column "headline" \(a template placeholder\)/,
  },
  {
    name: "a chat row whose roles do not alternate",
    files: {
      "c.jsonl": `${JSON.stringify({
        messages: [
          { role: "user", content: "a" },
          { role: "assistant", content: "b" },
        ],
      })}\n${JSON.stringify({
        messages: [
          { role: "user", content: "a" },
          { role: "user", content: "b" },
        ],
      })}\n`,
    },
    recipe: "task: causal-lm\nmodel: {base: builtin:tiny-llama}\ndata: {train: c.jsonl}\n",
    expected: /c\.jsonl:2 {2}messages: roles do not alternate: message 2 is "user", expected "assistant"/,
  },
  {
    name: "a tokenizer.json that cannot be loaded",
    // A model folder sound but for its tokenizer (an empty safetensors: header length 2, "{}").
    files: {
      "d.csv": "text,label\nhello,pos\n",
      "model/tokenizer.json": "{ not json",
      "model/tokenizer_config.json": "{}",
      "model/config.json": "{}",
      "model/model.safetensors": Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from("{}")]),
    },
    recipe: CLASSIFIER("d.csv").replace("builtin:tiny-llama", "./model"),
    expected: /model\/tokenizer\.json {2}cannot load the tokenizer in .*model/,
  },
];

describe("bad data is one clear message, exit 2, and no cache entry", () => {
  it.each(CASES)("$name", async ({ files, recipe, expected }) => {
    const dir = tempDir();
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(dir, name, ".."), { recursive: true });
      writeFileSync(join(dir, name), content);
    }
    writeFileSync(join(dir, "recipe.yaml"), recipe);
    const cache = testCache(dir);
    const result = await tune(["prepare", join(dir, "recipe.yaml")], { env: { TUNE_CACHE_DIR: cache } });
    expect(result.stderr).toMatch(expected);
    expect(result.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(result.exitCode).toBe(2);
    expect(hasStackTrace(result.stderr)).toBe(false);
    expect(result.stderr).toContain("1 problem;");
    const datasets = join(cache, "datasets");
    expect(existsSync(datasets) ? readdirSync(datasets).filter((n) => !n.includes(".tmp-")) : []).toEqual([]);
  });
});
