import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasStackTrace, tune } from "./support/cli.js";
import { tempDir } from "./support/temp-dir.js";

const CLASSIFIER = (file: string, extra = "") => `task: sequence-classification\nmodel: {base: builtin:tiny-llama}\ndata:\n  train: ${file}\n  labels: [neg, pos]\n${extra}`;

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
    expected: /d\.csv:3 {2}label: labels not in the recipe's label list \(line 3: "Positive", line 5: "negativ"\); unknown values seen: "Positive", "negativ"/,
  },
  {
    name: "malformed CSV quoting",
    files: { "d.csv": 'text,label\n"unclosed,pos\nok,neg\n' },
    recipe: CLASSIFIER("d.csv"),
    // Named where the quote opens (line 2, column 1), not where the parser gave up (the end).
    expected: /d\.csv:2:1 {2}malformed CSV: this quote opens a field that is never closed/,
  },
  {
    name: "an invalid JSON line",
    files: { "d.jsonl": '{"text": "a", "label": "pos"}\n{"text": "b", "label": }\n' },
    recipe: CLASSIFIER("d.jsonl"),
    expected: /d\.jsonl:2 {2}invalid JSON: /,
  },
  {
    name: "bytes that are not UTF-8",
    files: { "d.csv": Buffer.concat([Buffer.from("text,label\nfine,pos\ncaf"), Buffer.from([0xe9]), Buffer.from(" latin-1,neg\n")]) },
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
    files: { "c.jsonl": `${JSON.stringify({ messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }] })}\n${JSON.stringify({ messages: [{ role: "user", content: "a" }, { role: "user", content: "b" }] })}\n` },
    recipe: "task: causal-lm\nmodel: {base: builtin:tiny-llama}\ndata: {train: c.jsonl}\n",
    expected: /c\.jsonl:2 {2}messages: roles do not alternate: message 2 is "user", expected "assistant"/,
  },
  {
    name: "a tokenizer.json that cannot be loaded",
    files: { "d.csv": "text,label\nhello,pos\n", "model/tokenizer.json": "{ not json", "model/tokenizer_config.json": "{}", "model/config.json": "{}" },
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
    const cache = join(dir, "cache");
    const result = await tune(["prepare", join(dir, "recipe.yaml")], { env: { TUNE_CACHE_DIR: cache } });
    expect(result.stderr).toMatch(expected);
    expect(result.exitCode).toBe(2);
    expect(hasStackTrace(result.stderr)).toBe(false);
    expect(result.stderr).toContain("1 problem;");
    const datasets = join(cache, "datasets");
    expect(existsSync(datasets) ? readdirSync(datasets).filter((n) => !n.includes(".tmp-")) : []).toEqual([]);
  });
});
