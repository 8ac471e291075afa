// Benchmark: LoRA training steps on CPU, tune's TensorFlow.js engine against PyTorch.
//
//   npm run build && node scripts/bench/train-cpu.mjs [--steps 60] [--cpu-seconds 15] [--no-wide] [--no-torch1] [--keep]
//
// The same tiny Llama-architecture sequence classifier (builtin:tiny-llama, and a model 4x
// wider) is LoRA-trained, on the same token ids in the same batches, by:
//   - tune's tfjs engine (`trainTfjs`, the function `tune recipe` runs) on the wasm backend,
//   - the same engine on the plain-JS cpu backend,
//   - transformers + PEFT on PyTorch (CPU, fp32), through scripts/bench/train_cpu_torch.py.
// Sizes: batch 8 x 24 tokens (the quickstart: its padded batches are about that wide) and
// batch 8 x 128 tokens. Every example is exactly that long (truncated by data.max_length), so
// no batch holds padding and tokens/s counts real tokens only.
//
// Each run is a child process of its own, so its peak RSS is its own and one backend's memory
// or JIT state cannot favour the next. The first WARMUP steps of every run are not timed.
// The plain-JS cpu backend is 5-20x slower than wasm, so its runs stop (through the engine's
// own shouldStop hook) once they have spent --cpu-seconds on timed steps; every other run does
// all of its setting's steps. A full run takes about four minutes on two cores.
// It prints a table, then ends with one JSON line on stdout; progress goes to stderr.

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse } from "csv-parse/sync";
import { WIDE_SIZES, wideLlama } from "./wide-llama.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SELF = fileURLToPath(import.meta.url);
const TORCH_HELPER = join(ROOT, "scripts", "bench", "train_cpu_torch.py");
const QUICKSTART_CSV = join(ROOT, "recipes", "data", "quickstart", "reviews.csv");
const PYTHON = process.env.PYTHON ?? "python3";

/** Steps at the start of every run that are not timed: JIT, wasm compilation, allocator growth. */
const WARMUP = 2;
const BATCH = 8;
const SEED = 42;
const LABELS = ["negative", "positive"];
/** PyTorch's intra-op threads; tune's wasm backend runs single-threaded in Node (reported below). */
const TORCH_THREADS = 2;
const LORA = { r: 8, alpha: 16, dropout: 0, target_modules: "all-linear" };
/** transformers' names for what tune's "all-linear" adapts on a Llama model. */
const PEFT_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
const MIB = 1024 * 1024;
/** Steps of each setting as a share of --steps (the tiny x 24 setting's), so each takes seconds. */
const STEP_SHARE = { tiny: { 24: 1, 128: 1 / 3 }, wide: { 24: 0.4, 128: 1 / 6 } };

/** Raised for problems the benchmark reports as one line (no stack), after cleaning up. */
class BenchError extends Error {}

try {
  if (process.argv[2] === "--child") await child(process.argv[3]);
  else await main();
} catch (error) {
  console.error(`train-cpu bench: ${error instanceof BenchError ? error.message : error.stack}`);
  process.exitCode = 1;
}

// ---------------------------------------------------------------------------------------------
// Parent: build models and data, run every configuration, report.

async function main() {
  const options = parseOptions();
  // Everything tune writes (built-in model, tokenized datasets, run folders) goes to a temporary
  // cache, so the user's ~/.cache/tune is neither used nor touched. Children inherit it.
  const work = mkdtempSync(join(tmpdir(), "tune-bench-train-"));
  const cacheRoot = join(work, "cache");
  process.env.TUNE_CACHE_DIR = cacheRoot;
  try {
    await run(options, work, cacheRoot);
  } finally {
    if (options.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

async function run(options, work, cacheRoot) {
  const { tinyLlamaDir, TINY_LLAMA_CONFIG } = await import("../../dist/builtin/index.js");
  console.log(
    `machine: ${cpus().length} CPU core(s) (${cpus()[0]?.model.trim() ?? "unknown"}), Node ${process.version}`,
  );
  console.log(`torch runs with torch.set_num_threads(${TORCH_THREADS}); tfjs wasm threads are reported per row`);
  console.log(
    `batch ${BATCH}, LoRA r ${LORA.r} alpha ${LORA.alpha} on all linear layers, fp32; first ${WARMUP} steps of each run untimed`,
  );

  log("building the models");
  const models = [
    {
      key: "tiny",
      label: "quickstart tiny",
      base: "builtin:tiny-llama",
      dir: tinyLlamaDir(cacheRoot),
      hidden: TINY_LLAMA_CONFIG.hidden_size,
    },
  ];
  if (options.wide) {
    const dir = join(work, "models", "wide-llama");
    log(
      `4x wider model: ${wideLlama(dir, models[0].dir, TINY_LLAMA_CONFIG, PYTHON, SEED).toLocaleString("en-US")} parameters`,
    );
    models.push({ key: "wide", label: "4x wider", base: dir, dir, hidden: WIDE_SIZES.hidden_size });
  }

  const rows = [];
  for (const model of models) {
    for (const length of [24, 128]) {
      // Fewer steps where steps are slow; the quickstart setting (the headline) gets the most.
      const setting = {
        length,
        steps: Math.max(WARMUP + 3, Math.round(options.steps * STEP_SHARE[model.key][length])),
        cpuSeconds: options.cpuSeconds,
      };
      const prepared = await prepareSetting(work, cacheRoot, model, setting);
      const reference = await torchRun(work, model, setting, prepared, TORCH_THREADS);
      rows.push(row(model, setting, `torch cpu (${TORCH_THREADS} threads)`, reference, reference));
      for (const backend of options.backends) {
        rows.push(
          row(model, setting, `tfjs ${backend}`, await tfjsRun(work, model, setting, prepared, backend), reference),
        );
      }
      if (options.torch1)
        rows.push(
          row(model, setting, "torch cpu (1 thread)", await torchRun(work, model, setting, prepared, 1), reference),
        );
    }
  }
  printTable(rows);
  console.log(JSON.stringify(summary(rows)));
}

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        steps: { type: "string", default: "60" },
        "cpu-seconds": { type: "string", default: "15" },
        backends: { type: "string", default: "wasm,cpu" },
        "no-wide": { type: "boolean", default: false },
        "no-torch1": { type: "boolean", default: false },
        keep: { type: "boolean", default: false },
      },
    }));
  } catch (error) {
    fail(
      `${error.message.split("\n")[0]}\nusage: node scripts/bench/train-cpu.mjs [--steps 60] [--cpu-seconds 15] [--backends wasm,cpu] [--no-wide] [--no-torch1] [--keep]`,
    );
  }
  const steps = Number(values.steps);
  if (!Number.isInteger(steps) || steps <= WARMUP)
    fail(`--steps must be an integer above the ${WARMUP} untimed warm-up steps`);
  const cpuSeconds = Number(values["cpu-seconds"]);
  if (!(cpuSeconds > 0)) fail("--cpu-seconds must be a positive number");
  const backends = values.backends
    .split(",")
    .map((b) => b.trim())
    .filter(Boolean);
  for (const backend of backends)
    if (backend !== "wasm" && backend !== "cpu") fail(`unknown tfjs backend ${backend} (wasm or cpu)`);
  return { steps, cpuSeconds, backends, wide: !values["no-wide"], torch1: !values["no-torch1"], keep: values.keep };
}

/**
 * A recipe for one model and sequence length, resolved and prepared exactly as `tune recipe`
 * does (loadRecipe, resolvePlan, locateModel, prepareData, completePlan), plus what the PyTorch side needs to train on the
 * same batches: the batch order the engine will draw, its learning-rate schedule and its
 * classifier-head initialisation.
 */
async function prepareSetting(work, cacheRoot, model, { length, steps }) {
  const { loadRecipe, resolvePlan } = await import("../../dist/index.js");
  const { prepareData, readDatasetSplit } = await import("../../dist/data/index.js");
  const { locateModel } = await import("../../dist/model/index.js");
  const { completePlan } = await import("../../dist/run/index.js");
  // Internal modules of the engine, imported so the reference replays its exact batch order and
  // schedule instead of a re-implementation that could drift.
  const { epochBatches } = await import("../../dist/engine/batches.js");
  const { learningRate } = await import("../../dist/engine/schedule.js");
  const { seededNormal } = await import("../../dist/builtin/index.js");

  const dir = join(work, `${model.key}-${length}`);
  mkdirSync(dir, { recursive: true });
  const csv = join(dir, "train.csv");
  // One epoch's worth of rows: every step sees new examples and no epoch boundary falls inside.
  writeFileSync(csv, syntheticCsv(steps * BATCH, length));
  const recipeFile = join(dir, "recipe.json");
  const recipe = {
    name: `bench-${model.key}-${length}`,
    task: "sequence-classification",
    engine: "tfjs",
    model: { base: model.base },
    lora: LORA,
    data: { train: csv, labels: LABELS, max_length: length },
    training: {
      max_steps: steps,
      batch_size: BATCH,
      lr: 1e-3,
      warmup_ratio: 0.1,
      group_by_length: false,
      logging_steps: 1,
      max_grad_norm: 1.0,
      seed: SEED,
    },
    // One checkpoint, after the last step (outside the timed steps).
    checkpoints: { every: steps, keep: 1 },
  };
  writeFileSync(recipeFile, `${JSON.stringify(recipe, null, 2)}\n`);
  const resolved = resolvePlan(await loadRecipe(recipeFile), { out: join(dir, "adapters") });
  const located = await locateModel(resolved, { cacheRoot });
  const prepared = await prepareData(resolved, located, { cacheRoot });
  // As runRecipe does; and no prediction pass over the training split at the end, which this
  // benchmark would only wait for.
  const completed = completePlan(resolved, prepared);
  const plan = { ...completed, eval: { ...completed.eval, splits: [] } };
  const trainDir = prepared.splits.train.dir;
  const stats = prepared.splits.train.manifest.stats.tokens;
  if (stats.min !== length || stats.max !== length)
    fail(`${model.key}: examples should all be ${length} tokens, got ${stats.min}..${stats.max}`);
  if (located.dir !== model.dir) fail(`${model.key}: model found at ${located.dir}, expected ${model.dir}`);

  const split = readDatasetSplit(trainDir);
  const batches = epochBatches(split, BATCH, SEED, 0, false).slice(0, steps);
  const warmup = Math.ceil(0.1 * steps);
  const lrs = Array.from({ length: steps }, (_, step) => learningRate(step, steps, warmup, 1e-3, "linear"));
  // The engine's own head initialisation (train-tfjs.ts: seededNormal(labels x hidden, 0.02, seed + 1)).
  const scoreInit = Array.from(seededNormal(LABELS.length * model.hidden, 0.02, SEED + 1));
  const tokensPerStep = batches.map((indices) => indices.reduce((n, i) => n + split.ids(i).length, 0));
  return { plan, modelDir: located.dir, prepared, trainDir, batches, lrs, scoreInit, tokensPerStep };
}

/**
 * Texts of at least `length` tokens: quickstart reviews strung together in a seeded order
 * (so the vocabulary is the quickstart's), labelled by their first review; data.max_length
 * then truncates every one to exactly `length` tokens.
 */
function syntheticCsv(rows, length) {
  const reviews = readReviews();
  const random = mulberry32(length);
  // The shortest review is about 9 tokens; length/4 reviews leave a wide margin.
  const perText = Math.ceil(length / 4) + 1;
  const lines = ["text,label"];
  for (let r = 0; r < rows; r++) {
    const picked = Array.from({ length: perText }, () => reviews[Math.floor(random() * reviews.length)]);
    const text = picked.map((p) => p.text).join(" ");
    lines.push(`"${text.replaceAll('"', '""')}",${picked[0].label}`);
  }
  return `${lines.join("\n")}\n`;
}

function readReviews() {
  const records = parse(readFileSync(QUICKSTART_CSV), { columns: true, skip_empty_lines: true });
  return records.filter((record) => LABELS.includes(record.label) && record.text);
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The reference: transformers + PEFT on PyTorch, in a Python child process. */
async function torchRun(work, model, setting, prepared, threads) {
  log(
    `${model.key} x ${setting.length} tokens: torch (${threads} thread${threads === 1 ? "" : "s"}), ${setting.steps} steps`,
  );
  const job = join(work, `${model.key}-${setting.length}`, `torch-job-${threads}.json`);
  writeFileSync(
    job,
    JSON.stringify({
      threads,
      seed: SEED,
      num_labels: LABELS.length,
      lora: { r: LORA.r, alpha: LORA.alpha, dropout: LORA.dropout, target_modules: PEFT_TARGETS },
      lr: prepared.lrs[0],
      lrs: prepared.lrs,
      weight_decay: prepared.plan.training.weight_decay,
      max_grad_norm: prepared.plan.training.max_grad_norm,
      batches: prepared.batches,
      score_init: prepared.scoreInit,
    }),
  );
  const started = performance.now();
  const out = await spawnJson(PYTHON, [
    TORCH_HELPER,
    "train",
    "--model",
    model.dir,
    "--split",
    prepared.trainDir,
    "--job",
    job,
    "--bridge",
    join(ROOT, "python-bridge"),
  ]);
  return {
    steps: out.step_seconds.length,
    seconds: sum(out.step_seconds.slice(WARMUP)),
    stepSeconds: out.step_seconds.slice(WARMUP),
    tokens: sum(out.tokens.slice(WARMUP)),
    tokensPerTimedStep: out.tokens.slice(WARMUP),
    losses: out.losses,
    peakMiB: out.peak_rss_mib,
    sampledMiB: null,
    trainable: out.trainable_parameters,
    threads: out.threads,
    wallSeconds: (performance.now() - started) / 1000,
    extra: { torch: out.torch, transformers: out.transformers, attn_implementation: out.attn_implementation },
  };
}

/** tune's engine on one tfjs backend, in a Node child process (this file with --child). */
async function tfjsRun(work, model, setting, prepared, backend) {
  log(`${model.key} x ${setting.length} tokens: tfjs ${backend}, ${setting.steps} steps`);
  const job = join(work, `${model.key}-${setting.length}`, `tfjs-job-${backend}.json`);
  const stopAfterSeconds = backend === "cpu" ? setting.cpuSeconds : null;
  writeFileSync(
    job,
    JSON.stringify({
      backend,
      stopAfterSeconds,
      plan: prepared.plan,
      modelDir: prepared.modelDir,
      prepared: prepared.prepared,
    }),
  );
  const started = performance.now();
  const out = await spawnJson(process.execPath, [SELF, "--child", job]);
  const steps = out.steps.length;
  if (steps > setting.steps || (stopAfterSeconds === null && steps !== setting.steps) || steps < WARMUP + 1) {
    fail(
      `tfjs ${backend}: ${steps} step events, expected ${stopAfterSeconds === null ? "" : "at most "}${setting.steps}`,
    );
  }
  // Step k's interval runs from step k-1's event to step k's: the whole loop iteration
  // (batch padding, forward, backward, clipping, AdamW, reading the loss back).
  const times = out.steps.map((s) => s.at);
  const intervals = times.slice(1).map((t, i) => (t - times[i]) / 1000);
  return {
    steps,
    seconds: (times[steps - 1] - times[WARMUP - 1]) / 1000,
    stepSeconds: intervals.slice(WARMUP - 1),
    tokens: sum(prepared.tokensPerStep.slice(WARMUP, steps)),
    tokensPerTimedStep: prepared.tokensPerStep.slice(WARMUP, steps),
    losses: out.steps.map((s) => s.loss),
    peakMiB: out.peakMiB,
    sampledMiB: out.sampledMiB,
    trainable: out.trainable,
    threads: out.threads,
    wallSeconds: (performance.now() - started) / 1000,
    extra: { backend: out.backend, tensors_after_last_step: out.steps[out.steps.length - 1].tensors },
  };
}

function row(model, setting, engine, result, reference) {
  const tokensPerSecond = result.tokens / result.seconds;
  const referenceTps = reference.tokens / reference.seconds;
  return {
    model: model.label,
    modelKey: model.key,
    length: setting.length,
    engine,
    ...result,
    tokensPerSecond,
    ratio: tokensPerSecond / referenceTps,
  };
}

// ---------------------------------------------------------------------------------------------
// Child: one tfjs training run, reported as JSON on stdout.

async function child(jobFile) {
  const job = JSON.parse(readFileSync(jobFile, "utf8"));
  const tf = await import("@tensorflow/tfjs-core");
  const { trainTfjs, selectBackend } = await import("../../dist/engine/tfjs/index.js");
  // Sampled RSS, as a cross-check of the kernel's peak (getrusage) reported in the table: the
  // step itself is synchronous, so samples only land between steps (at every step event too).
  let sampled = process.memoryUsage().rss;
  const sampler = setInterval(() => (sampled = Math.max(sampled, process.memoryUsage().rss)), 50);
  const backend = await selectBackend(job.backend);
  if (backend !== job.backend) throw new Error(`asked for tfjs ${job.backend}, got ${backend}`);
  const steps = [];
  let trainable = 0;
  // The slow cpu backend stops once it has spent its time budget on timed steps (at least three).
  const shouldStop = () =>
    job.stopAfterSeconds !== null &&
    steps.length >= WARMUP + 3 &&
    (steps[steps.length - 1].at - steps[WARMUP - 1].at) / 1000 >= job.stopAfterSeconds;
  await trainTfjs(job.plan, job.modelDir, job.prepared, {
    backend,
    shouldStop,
    emit(event) {
      if (event.type === "start") trainable = event.trainable_parameters;
      if (event.type === "step") {
        steps.push({ step: event.step, at: performance.now(), loss: event.loss, tensors: event.tensors });
        sampled = Math.max(sampled, process.memoryUsage().rss);
      }
    },
  });
  clearInterval(sampler);
  const threads = backend === "wasm" ? wasmThreads(tf) : 1;
  process.stdout.write(
    `${JSON.stringify({
      backend,
      threads,
      trainable,
      steps,
      // ru_maxrss: the kernel's record of the peak, the same measure the Python side reports.
      peakMiB: (process.resourceUsage().maxRSS * 1024) / MIB,
      sampledMiB: sampled / MIB,
    })}\n`,
  );
}

/** Threads of tfjs's wasm backend: 1 unless the multi-threaded SIMD binary was loaded. */
function wasmThreads(tf) {
  try {
    return tf.backend().wasm.tfjs.getThreadsCount?.() ?? (tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT") ? -1 : 1);
  } catch {
    return tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT") ? -1 : 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers and report.

/** Runs a child, passing its stderr through, and parses the last line of its stdout as JSON. */
function spawnJson(command, args) {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (chunk) => (stdout += chunk));
    proc.stderr.on("data", (chunk) => (stderr += chunk));
    proc.on("error", reject);
    proc.on("close", (code) => {
      if (code !== 0) {
        reject(
          new Error(`${command} ${args[0]} exited with ${code}\n${stderr.trim().split("\n").slice(-15).join("\n")}`),
        );
        return;
      }
      const last = stdout.trim().split("\n").pop() ?? "";
      try {
        resolvePromise(JSON.parse(last));
      } catch {
        reject(new Error(`${command} ${args[0]} printed no JSON result:\n${stdout}\n${stderr}`));
      }
    });
  });
}

function printTable(rows) {
  const header = [
    "model",
    "seq len",
    "engine",
    "threads",
    "steps",
    "tokens/s",
    "ratio vs torch",
    "peak RSS MiB",
    "loss@1",
    `loss@last`,
  ];
  const body = rows.map((r) => [
    r.model,
    String(r.length),
    r.engine,
    String(r.threads),
    String(r.steps),
    Math.round(r.tokensPerSecond).toLocaleString("en-US"),
    `${r.ratio.toFixed(3)}x`,
    String(Math.round(r.peakMiB)),
    r.losses[0].toFixed(6),
    r.losses[r.losses.length - 1].toFixed(6),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const left = new Set([0, 2]);
  const line = (cells) =>
    cells.map((cell, i) => (left.has(i) ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(" | ");
  console.log();
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
  for (const row of body) console.log(line(row));
  console.log(
    `tokens/s: real (non-padding) tokens of the timed steps (all but the first ${WARMUP}) / their time; ratio: against torch with ${TORCH_THREADS} threads, same model and length`,
  );
  console.log("peak RSS: the process's getrusage maxrss (each run is its own process; model loading included)");
  console.log(
    "threads: tfjs-backend-wasm turns its multi-threaded build off under Node (WASM_HAS_MULTITHREAD_SUPPORT is false there), so tfjs uses one core",
  );
  console.log(
    "loss@1: same model, data, batches and head init on every row, LoRA B = 0, so step 1's loss should agree across engines;",
  );
  console.log("        later losses drift apart because the LoRA A matrices are drawn from different generators");
  console.log();
  for (const key of new Set(rows.map((r) => `${r.model}|${r.length}`))) {
    const group = rows.filter((r) => `${r.model}|${r.length}` === key);
    const spread = Math.max(...group.map((r) => r.losses[0])) - Math.min(...group.map((r) => r.losses[0]));
    const params = [...new Set(group.map((r) => r.trainable))];
    console.log(
      `${key.replace("|", " x ")} tokens: step-1 loss spread ${spread.toExponential(2)}; trainable parameters ${params.join(" vs ")}${params.length > 1 ? " (DIFFER)" : " (equal)"}`,
    );
  }
  // Scaling: how much of its tiny-model throughput each engine keeps on the 4x wider model
  // (about 16x the FLOPs per token in the linear layers).
  const scaling = [];
  for (const r of rows.filter((row) => row.modelKey === "wide")) {
    const tiny = rows.find((t) => t.modelKey === "tiny" && t.length === r.length && t.engine === r.engine);
    if (tiny) scaling.push(`${r.engine} x ${r.length}: ${(r.tokensPerSecond / tiny.tokensPerSecond).toFixed(2)}`);
  }
  if (scaling.length > 0) console.log(`4x wider / tiny tokens/s: ${scaling.join("; ")}`);
  console.log();
}

function summary(rows) {
  const find = (engine) => rows.find((r) => r.modelKey === "tiny" && r.length === 24 && r.engine.startsWith(engine));
  const ours = find("tfjs wasm") ?? find("tfjs");
  const reference = find(`torch cpu (${TORCH_THREADS}`);
  const details = {
    machine: {
      cpu_cores: cpus().length,
      torch_threads: TORCH_THREADS,
      warmup_steps: WARMUP,
      batch: BATCH,
      node: process.version,
    },
  };
  for (const r of rows) {
    const key = `${r.modelKey}_${r.length}_${r.engine.replace(/[^a-z0-9]+/gi, "_").replace(/_+$/, "")}`;
    details[key] = {
      model: r.model,
      seq_len: r.length,
      batch: BATCH,
      engine: r.engine,
      threads: r.threads,
      steps: r.steps,
      timed_steps: r.steps - WARMUP,
      timed_seconds: round(r.seconds, 3),
      tokens_per_s: round(r.tokensPerSecond, 1),
      // Less sensitive to a slow outlier step (a GC, the JIT finishing late) than the mean above.
      median_step_ms: round(median(r.stepSeconds) * 1000, 2),
      median_step_tokens_per_s: round(median(r.tokensPerTimedStep) / median(r.stepSeconds), 1),
      ratio_vs_torch: round(r.ratio, 4),
      peak_rss_mib: round(r.peakMiB, 1),
      ...(r.sampledMiB === null ? {} : { sampled_rss_mib: round(r.sampledMiB, 1) }),
      first_loss: r.losses[0],
      last_loss: r.losses[r.losses.length - 1],
      trainable_parameters: r.trainable,
      wall_seconds: round(r.wallSeconds, 1),
      ...r.extra,
    };
  }
  return {
    bench: "train-cpu",
    ours: round(ours.tokensPerSecond, 1),
    reference: round(reference.tokensPerSecond, 1),
    ratio: round(ours.tokensPerSecond / reference.tokensPerSecond, 4),
    unit: "tokens/s",
    goal: ">= 0.25",
    details,
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

function round(value, digits) {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

function fail(message) {
  throw new BenchError(message);
}
