import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { main } from "../../src/cli/main.js";
import { hasStackTrace } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

/**
 * Property-based tests: valid recipes and data files, mutated (bytes, keys, types, quoting,
 * encodings, truncation), go through the CLI in this process. Whatever comes in, tune never
 * exits 1, never prints a stack trace, names a file (and where it can, a line) for every
 * problem, and writes nothing outside its cache. FUZZ_SEED=<n> replays a failing run; the seed
 * is printed with every failure.
 */
// Hub ids the mutations produce must never reach a network.
process.env.HF_HUB_OFFLINE = "1";

const SEED = process.env.FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED);
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

const DATA = `text,label\n${Array.from({ length: 10 }, (_, i) => `"note ${i}, ${i % 2 ? "awful" : "lovely"}",${i % 2 ? "bad" : "good"}`).join("\n")}\n`;
const RECIPE = {
  task: "sequence-classification",
  engine: "tfjs",
  model: { base: "builtin:tiny-llama", revision: "main" },
  lora: { r: 4, alpha: 8, dropout: 0.05, target_modules: ["q_proj", "v_proj"] },
  data: { file: "d.csv", labels: ["good", "bad"], split: { eval: 0.2, seed: 1 }, max_length: 64 },
  training: { max_steps: 2, batch_size: 4, lr: 0.001 },
  eval: { gates: ["accuracy >= 0.1"] },
};

interface Ran {
  code: number;
  out: string;
  err: string;
}

/** The CLI, in this process, its output captured. */
async function cli(args: string[]): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["node", "tune", ...args], {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    json: (v) => out.push(JSON.stringify(v)),
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** Every file under `dir` with its size and modification time, to see that nothing was written. */
function snapshot(dir: string): string {
  const walk = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? walk(join(folder, e.name))
        : [`${relative(dir, join(folder, e.name))}:${statSync(join(folder, e.name)).size}`],
    );
  return walk(dir).sort().join("\n");
}

/** What every run must satisfy, whatever the input. */
function expectHandled(ran: Ran, files: string[], context: string): void {
  expect([0, 2, 3, 4], `${context}\n${ran.err}`).toContain(ran.code);
  expect(hasStackTrace(ran.err), `${context}\n${ran.err}`).toBe(false);
  expect(ran.err, context).not.toMatch(/unexpected failure|This is a bug in tune/);
  if (ran.code === 0) return;
  const problems = ran.err.split("\n").filter((line) => line.startsWith("error: "));
  expect(problems.length, `${context}\n${ran.err}`).toBeGreaterThan(0);
  // Each problem says where: one of the files involved (with a line where there is one), or the flag.
  for (const line of problems)
    expect(
      files.some((file) => line.includes(file)) || /error: --\w/.test(line) || /error: option /.test(line),
      `${context}\n${line}`,
    ).toBe(true);
}

const anyValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -1e6, max: 1e9 }),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
  fc.constantFrom(
    "../../../../etc/passwd",
    "/etc/passwd",
    "builtin:tiny-gpt",
    "owner/name",
    "x".repeat(300),
    "{text}",
    "accuracy >= 2",
    "\u0000",
    "café",
    "*alias",
  ),
);

/** A path into the recipe (existing keys, or new ones beside them). */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [prefix];
  return [prefix, ...Object.entries(value).flatMap(([key, inner]) => paths(inner, [...prefix, key]))];
}

function setAt(
  root: Record<string, unknown>,
  path: string[],
  value: unknown,
  remove: boolean,
): Record<string, unknown> {
  const copy = structuredClone(root);
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== "object" || Array.isArray(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path.at(-1);
  if (last === undefined) return copy;
  if (remove) delete node[last];
  else node[last] = value;
  return copy;
}

const structural = fc.array(
  fc.record({
    path: fc.constantFrom(...paths(RECIPE).filter((p) => p.length > 0)),
    extra: fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: undefined }),
    value: anyValue,
    remove: fc.boolean(),
  }),
  { minLength: 1, maxLength: 4 },
);

/** Text an attacker splices in: aliases that multiply, nesting without end, a repeated line (a duplicate key), tags, a NUL. */
const SPLICES = [
  "a: &x [1, 2]\nb: [*x, *x, *x, *x, *x, *x, *x, *x, *x, *x, *x, *x]\n",
  "&a [*a]",
  "[".repeat(3000),
  "{".repeat(3000),
  "!!binary aGVsbG8=",
  "<<: *missing\n",
  "\u0000",
  '"unclosed',
  "key: 1\nkey: 2\n",
  "\t- x\n",
  "%YAML 9.9\n---\n",
];

/** Edits to bytes: replace, insert, delete, splice in a snippet, repeat a line, or cut the file short. */
const byteEdits = fc.array(
  fc.record({
    at: fc.nat(),
    kind: fc.constantFrom("replace", "insert", "delete", "truncate", "splice", "repeat-line"),
    byte: fc.oneof(
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(...[..."\"':{}[],&*!#|>-\n\t\\"].map((c) => c.charCodeAt(0))),
    ),
    splice: fc.constantFrom(...SPLICES),
  }),
  { minLength: 1, maxLength: 6 },
);

function editBytes(
  bytes: Buffer,
  edits: ReadonlyArray<{ at: number; kind: string; byte: number; splice: string }>,
): Buffer {
  let out = Buffer.from(bytes);
  for (const edit of edits) {
    const at = out.length === 0 ? 0 : edit.at % out.length;
    if (edit.kind === "replace" && out.length > 0) out[at] = edit.byte;
    else if (edit.kind === "insert")
      out = Buffer.concat([out.subarray(0, at), Buffer.from([edit.byte]), out.subarray(at)]);
    else if (edit.kind === "delete") out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
    else if (edit.kind === "truncate") out = out.subarray(0, at);
    else if (edit.kind === "splice")
      out = Buffer.concat([out.subarray(0, at), Buffer.from(edit.splice), out.subarray(at)]);
    else if (edit.kind === "repeat-line") {
      const lines = out.toString("latin1").split("\n");
      const line = lines[at % Math.max(lines.length, 1)] ?? "";
      lines.splice((at >> 3) % Math.max(lines.length, 1), 0, line);
      out = Buffer.from(lines.join("\n"), "latin1");
    }
  }
  return out;
}

/** The same text in another encoding, as editors save it by mistake. */
const encodings = fc.constantFrom<(text: string) => Buffer>(
  (text) => Buffer.from(text),
  (text) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]),
  (text) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]),
  (text) => Buffer.from(text, "latin1"),
  (text) => Buffer.from(text.replaceAll("\n", "\r\n")),
);

const params = { numRuns: RUNS, seed: SEED, endOnFailure: true };

describe(`fuzzed inputs never crash tune (seed ${SEED}; replay with FUZZ_SEED=${SEED})`, () => {
  it("recipes with keys, types and values mutated, as YAML or JSON, in any encoding: tune validate", async () => {
    await fc.assert(
      fc.asyncProperty(structural, fc.boolean(), encodings, async (mutations, asJson, encode) => {
        const dir = tempDir({ "d.csv": DATA });
        let recipe: Record<string, unknown> = RECIPE;
        for (const { path, extra, value, remove } of mutations)
          recipe = setAt(recipe, extra ? [...path, extra] : path, value, remove);
        const file = join(dir, asJson ? "r.json" : "r.yaml");
        const text = asJson ? JSON.stringify(recipe, null, 1) : stringify(recipe);
        writeFileSync(file, encode(text));
        const before = snapshot(dir);
        const ran = await cli(["validate", file]);
        expectHandled(ran, [file, join(dir, "d.csv")], text.slice(0, 2000));
        expect(snapshot(dir)).toBe(before);
      }),
      params,
    );
  }, 120_000);

  it("recipe bytes edited, inserted, deleted and cut short: tune validate", async () => {
    const valid = Buffer.from(stringify(RECIPE));
    await fc.assert(
      fc.asyncProperty(byteEdits, async (edits) => {
        const dir = tempDir({ "d.csv": DATA });
        const file = join(dir, "r.yaml");
        const bytes = editBytes(valid, edits);
        writeFileSync(file, bytes);
        const before = snapshot(dir);
        const ran = await cli(["validate", file]);
        expectHandled(ran, [file, join(dir, "d.csv")], bytes.toString("latin1"));
        expect(snapshot(dir)).toBe(before);
      }),
      params,
    );
  }, 120_000);

  it.each([
    ["d.csv", DATA],
    [
      "d.jsonl",
      `${DATA.trim()
        .split("\n")
        .slice(1)
        .map((line, i) => JSON.stringify({ text: line.split('",')[0]?.slice(1), label: i % 2 ? "bad" : "good" }))
        .join("\n")}\n`,
    ],
    [
      "d.json",
      JSON.stringify(Array.from({ length: 10 }, (_, i) => ({ text: `note ${i}`, label: i % 2 ? "bad" : "good" }))),
    ],
  ])(
    "data files (%s) with bytes edited, quotes broken, encodings changed and lines cut: tune prepare",
    async (name, data) => {
      await fc.assert(
        fc.asyncProperty(byteEdits, encodings, async (edits, encode) => {
          const dir = tempDir();
          const file = join(dir, name);
          const bytes = editBytes(encode(data), edits);
          writeFileSync(file, bytes);
          writeFileSync(join(dir, "r.yaml"), stringify({ ...RECIPE, data: { ...RECIPE.data, file: name } }));
          const before = snapshot(dir);
          const ran = await cli(["prepare", join(dir, "r.yaml")]);
          expectHandled(ran, [file, join(dir, "r.yaml")], bytes.toString("latin1").slice(0, 2000));
          expect(snapshot(dir)).toBe(before);
        }),
        params,
      );
    },
    120_000,
  );

  it("files of gold and predicted labels, mutated: tune metrics", async () => {
    const labels = "gold,pred\ngood,good\nbad,good\nbad,bad\n";
    await fc.assert(
      fc.asyncProperty(
        byteEdits,
        fc.constantFrom(".csv", ".jsonl", ".json", ".parquet", ".tsv"),
        async (edits, extension) => {
          const dir = tempDir();
          const file = join(dir, `labels${extension}`);
          writeFileSync(file, editBytes(Buffer.from(labels), edits));
          const ran = await cli(["metrics", file, "--labels", "good,bad"]);
          expectHandled(ran, [file], readFileSync(file).toString("latin1"));
        },
      ),
      params,
    );
  }, 120_000);
});
