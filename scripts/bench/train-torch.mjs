// Benchmark: the torch engine against the hand-written Trainer scripts it replaces.
//
//   npm run build && node scripts/bench/train-torch.mjs [--rows 768] [--threads 2] [--keep]
//
// One model, one dataset, one set of hyperparameters, trained four ways in this run:
//   - "seed-style Trainer": transformers' Trainer + PEFT as the reference notebooks write it,
//     every example padded to max_length (scripts/bench/train_torch_trainer.py --style seed);
//   - "tuned Trainer": the same with dynamic padding and group_by_length, as an expert sets it up;
//   - tune's torch engine (`tune recipe`, engine: torch) with `training.padding_free: false`:
//     length-grouped micro-batches with dynamic padding;
//   - tune's torch engine as it runs by default: each step's examples packed into unpadded rows.
// The run fails unless every way learns (non-zero gradient norm) and ends at the same mean
// training loss (within LOSS_TOLERANCE), and it prints where each way's time goes.
// All four read the same token ids (tune's tokenized dataset; no re-tokenizing) of real,
// mixed-length texts: the Women's March tweets in ../shared/data (stance labels), on the
// benchmarks' "4x wider" Llama architecture (9.7M parameters, seeded random weights), LoRA
// r 16 / alpha 64 on all linear layers, batch 4 x accumulation 4, lr 2e-4, one epoch, fp32 on
// the CPU. tokens/s counts real (non-padding) tokens over each training loop's own time
// (Trainer's train_runtime; the engine's first to last step event). Model FLOP utilisation is
// 4 x frozen non-embedding parameters x real tokens per second (forward, and backward through the frozen base)
// over the fp32 matmul rate this machine's PyTorch reaches. Each run is its own process, so
// peak RSS is its own. Prints a table, then one JSON line (ratio against the tuned Trainer).

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse } from "csv-parse/sync";
import { wideLlama } from "./wide-llama.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DATA = resolve(ROOT, "..", "shared", "data", "wm-tweets", "WM_tweets_groundtruth.csv");
const PYTHON = process.env.PYTHON ?? "python3";
const HELPER = join(ROOT, "scripts", "bench", "train_torch_trainer.py");
const SEED = 42;
const SETTINGS = {
  batch: 4,
  accumulation: 4,
  lr: 2e-4,
  warmup: 2,
  maxLength: 128,
  lora: { r: 16, alpha: 64, dropout: 0.1 },
};
// Relative difference allowed between the ways' mean training losses: they see the examples in
// different orders (random, by length, tune's seeded length groups) with different dropout draws.
const LOSS_TOLERANCE = 0.05;

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "768" },
    threads: { type: "string", default: "2" },
    repeat: { type: "string", default: "3" },
    keep: { type: "boolean", default: false },
  },
});
const repeat = Number(values.repeat);
const rows = Number(values.rows);
const threads = Number(values.threads);
const work = mkdtempSync(join(tmpdir(), "tune-bench-torch-"));
const log = (message) => process.stderr.write(`[bench] ${message}\n`);

try {
  const cacheRoot = join(work, "cache");
  const { tinyLlamaDir, TINY_LLAMA_CONFIG } = await import("../../dist/builtin/index.js");
  log("building the model");
  const modelDir = join(work, "wide-llama");
  const parameters = wideLlama(modelDir, tinyLlamaDir(cacheRoot), TINY_LLAMA_CONFIG, PYTHON, SEED);

  // The first `rows` tweets with a stance label, as a CSV the recipe reads.
  const tweets = parse(readFileSync(DATA), { columns: true, skip_empty_lines: true, relax_quotes: true })
    .filter((r) => r.stance === "0" || r.stance === "1")
    .slice(0, rows);
  const csv = ["text,stance", ...tweets.map((r) => `"${r.text.replaceAll('"', '""')}",${r.stance}`)].join("\n");
  writeFileSync(join(work, "tweets.csv"), `${csv}\n`);
  const { batch, accumulation, lr, warmup, maxLength, lora } = SETTINGS;
  const recipe = (paddingFree) => {
    const file = `bench-${paddingFree ? "free" : "padded"}.yaml`;
    writeFileSync(
      join(work, file),
      [
        "name: bench",
        "task: sequence-classification",
        "engine: torch",
        `model: {base: ${modelDir}}`,
        `lora: {r: ${lora.r}, alpha: ${lora.alpha}, dropout: ${lora.dropout}, target_modules: all-linear}`,
        `data: {train: tweets.csv, columns: {text: text, label: stance}, labels: [oppose, support], label_map: {"0": oppose, "1": support}, max_length: ${maxLength}}`,
        `training: {epochs: 1, batch_size: ${batch}, gradient_accumulation: ${accumulation}, lr: ${lr}, warmup_steps: ${warmup}, logging_steps: 1, seed: ${SEED}, padding_free: ${paddingFree}}`,
        "checkpoints: {every: 100000, keep: 1}",
        "eval: {splits: [train]}",
      ].join("\n"),
    );
    return file;
  };
  const env = { ...process.env, TUNE_CACHE_DIR: cacheRoot, OMP_NUM_THREADS: String(threads) };
  log("tokenizing once (all three runs read these ids)");
  const prepared = JSON.parse(
    execFileSync("node", [join(ROOT, "bin/tune.js"), "prepare", recipe(true), "--json"], {
      cwd: work,
      env,
      encoding: "utf8",
    }),
  );
  const splitDir = prepared.splits.train.dir;
  const peak = JSON.parse(
    execFileSync(PYTHON, [HELPER, "peak-flops", "--threads", String(threads)], { encoding: "utf8" }),
  ).flops_per_s;

  const job = {
    threads,
    seed: SEED,
    num_labels: 2,
    max_length: maxLength,
    batch_size: batch,
    accumulation,
    lr,
    warmup_steps: warmup,
    lora: { ...lora, target_modules: "all-linear" },
    output_dir: join(work, "trainer-out"),
  };
  writeFileSync(join(work, "job.json"), JSON.stringify(job));
  const trainer = (style) =>
    JSON.parse(
      execFileSync(
        PYTHON,
        [
          HELPER,
          "train",
          "--model",
          modelDir,
          "--split",
          splitDir,
          "--style",
          style,
          "--job",
          join(work, "job.json"),
          "--bridge",
          join(ROOT, "python-bridge"),
        ],
        { encoding: "utf8", env, stdio: ["ignore", "pipe", "ignore"] },
      )
        .trim()
        .split("\n")
        .at(-1),
    );
  const engine = (round, paddingFree) => {
    const out = `runs-${paddingFree ? "free" : "padded"}-${round}`;
    execFileSync("node", [join(ROOT, "bin/tune.js"), "recipe", recipe(paddingFree), "--out", out, "--json"], {
      cwd: work,
      env,
      stdio: ["ignore", "ignore", "ignore"],
    });
    const events = readFileSync(join(work, out, "bench", "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const start = events.find((e) => e.type === "start");
    const steps = events.filter((e) => e.type === "step");
    const seconds = (Date.parse(steps.at(-1).time) - Date.parse(start.time)) / 1000;
    const { prepare_s, forward_backward_s, optimizer_s } = events.find((e) => e.type === "end").timing;
    return {
      seconds,
      peak_rss_mib: Math.max(...steps.map((s) => s.memory_mb)),
      loss: steps.reduce((sum, s) => sum + s.loss, 0) / steps.length,
      grad_norm: Math.max(...steps.map((s) => s.grad_norm)),
      // The rest: waiting for batches, logging, the step loop itself.
      timing: { forward_backward_s, optimizer_s, other_s: seconds - forward_backward_s - optimizer_s },
    };
  };
  // The ways take turns, `repeat` rounds, and each keeps its median: a noisy neighbour or a slow
  // first run then weighs on no one way in particular.
  const runs = { seed: [], tuned: [], padded: [], ours: [] };
  for (let round = 0; round < repeat; round++) {
    log(`round ${round + 1}/${repeat}: seed-style Trainer, tuned Trainer, tune torch engine padded, padding-free`);
    runs.seed.push(trainer("seed"));
    runs.tuned.push(trainer("tuned"));
    runs.padded.push(engine(round, false));
    runs.ours.push(engine(round, true));
  }
  const median = (list) => [...list].sort((a, b) => a.seconds - b.seconds)[Math.floor(list.length / 2)];
  const seed = median(runs.seed);
  const tuned = median(runs.tuned);
  const padded = { ...median(runs.padded), real_tokens: seed.real_tokens };
  const ours = { ...median(runs.ours), real_tokens: seed.real_tokens };

  // The same computation, or the speed means nothing: every way learns (a gradient flows) and
  // ends its epoch at the same mean training loss, up to what data order and dropout draws move.
  for (const [name, r] of Object.entries({ seed, tuned, padded, ours })) {
    if (!(r.grad_norm > 0)) throw new Error(`${name}: no gradient (largest norm ${r.grad_norm})`);
    if (Math.abs(r.loss - tuned.loss) > LOSS_TOLERANCE * tuned.loss)
      throw new Error(
        `${name}: mean training loss ${r.loss} is not within ${LOSS_TOLERANCE * 100}% of the tuned Trainer's ${tuned.loss}`,
      );
  }

  const base = seed.base_parameters;
  const rowsOut = [
    ["seed-style Trainer (pad to max_length)", seed],
    ["tuned Trainer (dynamic padding, group_by_length)", tuned],
    ["tune torch engine, padding_free: false", padded],
    ["tune torch engine (padding-free)", ours],
  ].map(([name, r]) => ({
    name,
    seconds: r.seconds,
    tps: r.real_tokens / r.seconds,
    rss: r.peak_rss_mib,
    mfu: (4 * base * r.real_tokens) / r.seconds / peak,
    loss: r.loss,
    grad: r.grad_norm,
    timing: r.timing,
  }));
  console.log(
    `machine: ${cpus().length} CPU core(s) (${cpus()[0]?.model.trim() ?? "unknown"}), torch ${seed.torch}, transformers ${seed.transformers}, ${threads} threads; fp32 matmul peak ${(peak / 1e9).toFixed(1)} GFLOP/s`,
  );
  console.log(
    `model: 4x wider Llama, ${parameters.toLocaleString("en-US")} parameters; ${rows} tweets, ${seed.real_tokens.toLocaleString("en-US")} real tokens (${seed.padded_tokens.toLocaleString("en-US")} when padded to ${maxLength}); batch ${batch} x ${accumulation}, LoRA r ${lora.r} alpha ${lora.alpha}, one epoch; median of ${repeat} rounds\n`,
  );
  const table = (header, cells) => {
    console.log(header.map(([title, width]) => title.padEnd(width)).join(" | "));
    console.log(header.map(([, width]) => "-".repeat(width)).join("-|-"));
    for (const r of rowsOut)
      console.log(
        cells(r)
          .map((cell, i) => cell.padStart(header[i][1]))
          .join(" | "),
      );
    console.log();
  };
  const name = (r) => r.name.padEnd(48);
  table(
    [
      ["way", 48],
      ["seconds", 7],
      ["real tokens/s", 13],
      ["vs seed", 7],
      ["vs tuned", 8],
      ["peak RSS MiB", 12],
      ["MFU", 6],
      ["mean loss", 9],
      ["max grad norm", 13],
    ],
    (r) => [
      name(r),
      r.seconds.toFixed(1),
      Math.round(r.tps).toLocaleString("en-US"),
      `${(r.tps / rowsOut[0].tps).toFixed(2)}x`,
      `${(r.tps / rowsOut[1].tps).toFixed(2)}x`,
      r.rss.toFixed(0),
      `${(100 * r.mfu).toFixed(1)}%`,
      r.loss.toFixed(4),
      r.grad.toFixed(3),
    ],
  );
  // Where each way's seconds go (the Trainer's "rest" is its collator, scheduler and logging;
  // the engine's, waiting for the next step's batches and the step loop's own bookkeeping).
  table(
    [
      ["where the time goes", 48],
      ["forward+backward s", 18],
      ["optimizer s", 11],
      ["rest s", 7],
    ],
    (r) => [
      name(r),
      r.timing.forward_backward_s.toFixed(2),
      r.timing.optimizer_s.toFixed(2),
      r.timing.other_s.toFixed(2),
    ],
  );
  const [s, t, p, o] = rowsOut;
  console.log(
    JSON.stringify({
      bench: "train-torch",
      ours: Math.round(o.tps),
      reference: Math.round(t.tps),
      ratio: Number((o.tps / t.tps).toFixed(3)),
      unit: "real tokens/s",
      goal: ">= 1.5 vs tuned Trainer and >= 3 vs seed-style on CPU, at equal loss and no more peak memory",
      details: {
        vs_seed_style: Number((o.tps / s.tps).toFixed(3)),
        padded_engine_vs_tuned: Number((p.tps / t.tps).toFixed(3)),
        rounds: repeat,
        all_seconds: Object.fromEntries(Object.entries(runs).map(([way, list]) => [way, list.map((r) => r.seconds)])),
        seconds: rowsOut.map((r) => r.seconds),
        peak_rss_mib: rowsOut.map((r) => Math.round(r.rss)),
        mfu: rowsOut.map((r) => Number(r.mfu.toFixed(4))),
        mean_loss: rowsOut.map((r) => Number(r.loss.toFixed(4))),
      },
    }),
  );
} finally {
  if (!values.keep) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}
