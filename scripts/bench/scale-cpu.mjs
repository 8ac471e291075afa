// Benchmark: one recipe on one process, on two processes, and on two "nodes" of one process each.
//
//   npm run build && node scripts/bench/scale-cpu.mjs [--rows 2048] [--keep]
//
// The same model, data and steps three ways in this run, every optimizer step made of the same
// 4 micro-batches of 4 examples:
//   - one process with both cores (gradient_accumulation 4, OMP_NUM_THREADS=2);
//   - `distributed: {processes: 2}`: torchrun on this machine, gloo, one core each
//     (gradient_accumulation 2 per process);
//   - `distributed: {nodes: 2, processes_per_node: 1}`: two `tune recipe --node-rank` commands
//     meeting at a rendezvous on 127.0.0.1, one core each, as two machines of a cluster would.
// The run fails unless every way learns (non-zero gradient norm) and the three take the same
// steps (each step's loss within LOSS_TOLERANCE of the one-process run). tokens/s counts real
// tokens over the time from the first step event of node 0 to its last. The model is
// the benchmarks' "4x wider" Llama (seeded random weights) on the Women's March tweets in
// ../shared/data, LoRA r 16 on all linear layers, fp32. On a cluster, run the same recipe with
// its real model and `distributed` set for the GPUs (README, "Running on a cluster") and compare
// the step events' times the same way. Prints a table, then one JSON line: two processes
// against one, on the same two cores.

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse } from "csv-parse/sync";
import { wideLlama } from "./wide-llama.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DATA = resolve(ROOT, "..", "shared", "data", "wm-tweets", "WM_tweets_groundtruth.csv");
const PYTHON = process.env.PYTHON ?? "python3";
const TUNE = join(ROOT, "bin", "tune.js");
const SEED = 42;
// Ranks add their gradients in another order than one process does: float rounding, no more.
const LOSS_TOLERANCE = 1e-4;

const { values } = parseArgs({
  options: { rows: { type: "string", default: "2048" }, keep: { type: "boolean", default: false } },
});
const rows = Number(values.rows);
const work = mkdtempSync(join(tmpdir(), "tune-bench-scale-"));
const log = (message) => process.stderr.write(`[bench] ${message}\n`);

/** A port nothing listens on now, for the two nodes' rendezvous. */
function freePort() {
  return new Promise((done) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** `tune recipe` as a child process; resolves with its exit code. */
function tune(args, env) {
  return new Promise((done, fail) => {
    const child = spawn("node", [TUNE, "recipe", ...args, "--json"], { cwd: work, env, stdio: "ignore" });
    child.on("error", fail);
    child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`tune ${args.join(" ")} exited ${code}`))));
  });
}

try {
  const cacheRoot = join(work, "cache");
  const { tinyLlamaDir, TINY_LLAMA_CONFIG } = await import("../../dist/builtin/index.js");
  log("building the model");
  const modelDir = join(work, "wide-llama");
  wideLlama(modelDir, tinyLlamaDir(cacheRoot), TINY_LLAMA_CONFIG, PYTHON, SEED);
  const tweets = parse(readFileSync(DATA), { columns: true, skip_empty_lines: true, relax_quotes: true })
    .filter((r) => r.stance === "0" || r.stance === "1")
    .slice(0, rows);
  const csv = ["text,stance", ...tweets.map((r) => `"${r.text.replaceAll('"', '""')}",${r.stance}`)].join("\n");
  writeFileSync(join(work, "tweets.csv"), `${csv}\n`);
  const recipe = (name, accumulation, distributed) => {
    writeFileSync(
      join(work, `${name}.yaml`),
      [
        "name: bench",
        "task: sequence-classification",
        "engine: torch",
        `model: {base: ${modelDir}}`,
        "lora: {r: 16, alpha: 64, dropout: 0, target_modules: all-linear}",
        'data: {train: tweets.csv, columns: {text: text, label: stance}, labels: [oppose, support], label_map: {"0": oppose, "1": support}, max_length: 128}',
        `training: {epochs: 1, batch_size: 4, gradient_accumulation: ${accumulation}, lr: 2.0e-4, warmup_steps: 2, logging_steps: 1, seed: ${SEED}}`,
        "checkpoints: {every: 100000, keep: 1}",
        "eval: {splits: [train]}",
        ...(distributed ? [`distributed: ${distributed}`] : []),
      ].join("\n"),
    );
    return `${name}.yaml`;
  };
  const env = (threads) => ({ ...process.env, TUNE_CACHE_DIR: cacheRoot, OMP_NUM_THREADS: String(threads) });
  log("tokenizing once (every way reads these ids)");
  const prepared = JSON.parse(
    execFileSync("node", [TUNE, "prepare", recipe("one", 4), "--json"], { cwd: work, env: env(2), encoding: "utf8" }),
  );
  // One epoch: every way trains on each real token once.
  const tokens = prepared.splits.train.tokens.total;

  const measure = (out) => {
    const events = readFileSync(join(work, out, "bench", "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const steps = events.filter((e) => e.type === "step");
    // From the first step's end to the last's: setup (model load, process groups, rendezvous)
    // differs between the ways and is not what scaling is about.
    const seconds = (Date.parse(steps.at(-1).time) - Date.parse(steps[0].time)) / 1000;
    return {
      seconds,
      steps: steps.length,
      losses: steps.map((s) => s.loss),
      gradNorm: Math.max(...steps.map((s) => s.grad_norm)),
    };
  };
  log("one process, two threads");
  await tune([recipe("one", 4), "--out", "one"], env(2));
  log("two processes on this machine, one thread each");
  await tune([recipe("two", 2, "{processes: 2}"), "--out", "two"], env(1));
  log('two "nodes" of one process each, meeting on 127.0.0.1');
  const port = await freePort();
  const nodes = recipe(
    "nodes",
    2,
    `{nodes: 2, processes_per_node: 1, rendezvous: {endpoint: "127.0.0.1:${port}", timeout_s: 120}}`,
  );
  await Promise.all([
    tune([nodes, "--out", "nodes", "--node-rank", "0"], env(1)),
    tune([nodes, "--out", "nodes-1", "--node-rank", "1"], env(1)),
  ]);

  const ways = [
    ["1 process x 2 threads", measure("one")],
    ["2 processes x 1 thread", measure("two")],
    ["2 nodes x 1 process x 1 thread", measure("nodes")],
  ];
  const reference = ways[0][1];
  for (const [name, way] of ways) {
    if (!(way.gradNorm > 0)) throw new Error(`${name}: the gradient norm is ${way.gradNorm}; it learned nothing`);
    if (way.losses.length !== reference.losses.length)
      throw new Error(`${name}: ${way.losses.length} steps, one process took ${reference.losses.length}`);
    way.losses.forEach((loss, i) => {
      const gap = Math.abs(loss - reference.losses[i]) / Math.abs(reference.losses[i]);
      if (gap > LOSS_TOLERANCE)
        throw new Error(`${name}: step ${i + 1} loss ${loss}, one process ${reference.losses[i]}`);
    });
  }
  // Steps hold the same number of examples on average: the timed steps (all but the first) hold their share of the tokens.
  const rate = (way) => (tokens * (way.steps - 1)) / way.steps / way.seconds;
  const unit = "tokens/s";
  console.log(`| way | seconds | ${unit} | vs 1 process | mean loss | max grad norm |`);
  console.log("|---|---|---|---|---|---|");
  for (const [name, way] of ways) {
    const mean = way.losses.reduce((a, b) => a + b, 0) / way.losses.length;
    console.log(
      `| ${name} | ${way.seconds.toFixed(1)} | ${rate(way).toFixed(0)} | ${(rate(way) / rate(reference)).toFixed(2)}x | ${mean.toFixed(5)} | ${way.gradNorm.toFixed(4)} |`,
    );
  }
  const two = ways[1][1];
  console.log(
    JSON.stringify({
      bench: "scale-cpu",
      ours: Number(rate(two).toFixed(1)),
      reference: Number(rate(reference).toFixed(1)),
      ratio: Number((rate(two) / rate(reference)).toFixed(3)),
      unit,
      goal: "2 processes on the same 2 cores at least 0.9x one process, with the same losses",
    }),
  );
} finally {
  if (!values.keep) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}
