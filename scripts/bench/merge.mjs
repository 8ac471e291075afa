// Benchmark: `tune merge` against copying the same files, the floor for any job that must read
// and write every byte of a model.
//
//   npm run build && node scripts/bench/merge.mjs [--layers 8] [--rounds 3] [--dir /tmp/tune-bench-merge]
//
// It builds (once, then reuses) a random-weight Llama-architecture model in bf16 (hidden 2048,
// intermediate 5632, 32 heads / 8 KV heads, vocab 32000, untied head: about 1.1 GB with 8 layers)
// and a LoRA adapter (r=16, all-linear, random non-zero B). Each round, in alternating order:
//   - copy: `cp` of the model folder, then `sync` of the copy, since the merge fsyncs what it writes;
//   - merge: mergeAdapter in a child process, which reports its peak RSS.
// The page cache holds the base for both after the first round. Prints a table and one JSON line.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values } = parseArgs({
  options: {
    layers: { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
    dir: { type: "string", default: "/tmp/tune-bench-merge" },
    child: { type: "string" },
  },
});

const { mergeAdapter, writeSafetensors } = await import(join(ROOT, "dist/adapter/index.js"));

if (values.child) {
  const [adapter, base, out] = JSON.parse(values.child);
  const started = performance.now();
  const result = mergeAdapter({ adapter, base, out });
  process.stdout.write(
    JSON.stringify({
      seconds: (performance.now() - started) / 1000,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      merged: result.merged,
      bytes: result.bytes,
    }),
  );
  process.exit(0);
}

const H = 2048;
const I = 5632;
const HEADS = 32;
const KV = 8;
const VOCAB = 32000;
const R = 16;
const LAYERS = Number(values.layers);
const work = values.dir;
const base = join(work, "base");
const adapter = join(work, "adapter");
const MB = 1e6;

/** xorshift32 filling bf16 bit patterns of small finite numbers (|x| < 0.03), so no NaN or Inf enters the sums. */
function randomBf16Chunks(elements, seed) {
  return (append) => {
    let state = seed | 1;
    const chunk = 1 << 20;
    for (let done = 0; done < elements; done += chunk) {
      const n = Math.min(chunk, elements - done);
      const bits = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        bits[i] = 0x3c00 | (state & 0x80ff);
      }
      append(new Uint8Array(bits.buffer));
    }
  };
}

function linearShapes() {
  const head = H / HEADS;
  const shapes = [];
  for (let l = 0; l < LAYERS; l++) {
    const p = `model.layers.${l}`;
    shapes.push(
      [`${p}.self_attn.q_proj`, H, H],
      [`${p}.self_attn.k_proj`, KV * head, H],
      [`${p}.self_attn.v_proj`, KV * head, H],
      [`${p}.self_attn.o_proj`, H, H],
      [`${p}.mlp.gate_proj`, I, H],
      [`${p}.mlp.up_proj`, I, H],
      [`${p}.mlp.down_proj`, H, I],
    );
  }
  return shapes;
}

function buildModel() {
  if (existsSync(join(base, "model.safetensors")) && existsSync(join(adapter, "adapter_model.safetensors"))) return;
  process.stderr.write(`building a ${LAYERS}-layer random Llama in ${base}...\n`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(base, { recursive: true });
  mkdirSync(adapter, { recursive: true });
  let seed = 1;
  const tensors = [
    { name: "model.embed_tokens.weight", dtype: "BF16", shape: [VOCAB, H] },
    { name: "lm_head.weight", dtype: "BF16", shape: [VOCAB, H] },
    { name: "model.norm.weight", dtype: "BF16", shape: [H] },
    ...linearShapes().map(([name, out, inF]) => ({ name: `${name}.weight`, dtype: "BF16", shape: [out, inF] })),
    ...Array.from({ length: LAYERS }, (_, l) => [
      `model.layers.${l}.input_layernorm.weight`,
      `model.layers.${l}.post_attention_layernorm.weight`,
    ])
      .flat()
      .map((name) => ({ name, dtype: "BF16", shape: [H] })),
  ].map((t) => ({
    ...t,
    data: randomBf16Chunks(
      t.shape.reduce((a, b) => a * b, 1),
      seed++,
    ),
  }));
  writeSafetensors(join(base, "model.safetensors"), tensors);
  writeFileSync(
    join(base, "config.json"),
    JSON.stringify({
      architectures: ["LlamaForCausalLM"],
      model_type: "llama",
      hidden_size: H,
      intermediate_size: I,
      num_attention_heads: HEADS,
      num_key_value_heads: KV,
      num_hidden_layers: LAYERS,
      vocab_size: VOCAB,
      torch_dtype: "bfloat16",
      tie_word_embeddings: false,
    }),
  );
  const lora = [];
  for (const [name, out, inF] of linearShapes()) {
    const a = new Float32Array(R * inF).map(() => (Math.random() - 0.5) * 0.02);
    const b = new Float32Array(out * R).map(() => (Math.random() - 0.5) * 0.02);
    lora.push(
      { name: `base_model.model.${name}.lora_A.weight`, dtype: "F32", shape: [R, inF], data: a },
      { name: `base_model.model.${name}.lora_B.weight`, dtype: "F32", shape: [out, R], data: b },
    );
  }
  writeSafetensors(join(adapter, "adapter_model.safetensors"), lora);
  writeFileSync(
    join(adapter, "adapter_config.json"),
    JSON.stringify({
      peft_type: "LORA",
      task_type: "CAUSAL_LM",
      r: R,
      lora_alpha: 32,
      target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    }),
  );
}

function folderBytes(dir) {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

function copyOnce() {
  const out = join(work, "copy");
  rmSync(out, { recursive: true, force: true });
  const started = performance.now();
  const cp = spawnSync("cp", ["-r", base, out]);
  const copied = (performance.now() - started) / 1000;
  spawnSync("sync", ["-f", join(out, "model.safetensors")]);
  const synced = (performance.now() - started) / 1000;
  if (cp.status !== 0) throw new Error(String(cp.stderr));
  rmSync(out, { recursive: true, force: true });
  return { copied, synced };
}

function mergeOnce() {
  const out = join(work, "merged");
  rmSync(out, { recursive: true, force: true });
  const started = performance.now();
  const child = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), "--child", JSON.stringify([adapter, base, out])],
    { encoding: "utf8", maxBuffer: 1 << 20 },
  );
  const wall = (performance.now() - started) / 1000;
  if (child.status !== 0) throw new Error(child.stderr);
  const report = JSON.parse(child.stdout);
  rmSync(out, { recursive: true, force: true });
  return { wall, ...report };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

buildModel();
const modelBytes = folderBytes(base);
const largestTensor = VOCAB * H * 2;
// A bare Node process running the same imports, to tell the merge's own memory from the runtime's.
const idle = spawnSync(
  process.execPath,
  [
    "--input-type=module",
    "-e",
    `await import(${JSON.stringify(join(ROOT, "dist/adapter/index.js"))}); process.stdout.write(String(process.resourceUsage().maxRSS * 1024))`,
  ],
  { encoding: "utf8" },
);
const runtimeRss = Number(idle.stdout);

const copies = [];
const merges = [];
copyOnce();
for (let round = 0; round < Number(values.rounds); round++) {
  process.stderr.write(`round ${round + 1}/${values.rounds}\n`);
  if (round % 2 === 0) {
    copies.push(copyOnce());
    merges.push(mergeOnce());
  } else {
    merges.push(mergeOnce());
    copies.push(copyOnce());
  }
}
const copySeconds = median(copies.map((c) => c.copied));
const copySynced = median(copies.map((c) => c.synced));
const mergeSeconds = median(merges.map((m) => m.wall));
const peakRss = Math.max(...merges.map((m) => m.maxRssBytes));
const mergeOwn = peakRss - runtimeRss;

const rows = [
  ["model", `${(modelBytes / MB).toFixed(0)} MB bf16, ${LAYERS} layers, ${merges[0].merged} LoRA modules (r=${R})`],
  ["cp", `${copySeconds.toFixed(2)} s`],
  ["cp + sync (reference)", `${copySynced.toFixed(2)} s`],
  [
    "tune merge (median wall, incl. process start)",
    `${mergeSeconds.toFixed(2)} s  (${(modelBytes / MB / mergeSeconds).toFixed(0)} MB/s)`,
  ],
  ["merge / (cp + sync)", `${(mergeSeconds / copySynced).toFixed(2)}x  (goal <= 1.5x)`],
  ["merge / cp", `${(mergeSeconds / copySeconds).toFixed(2)}x`],
  ["largest tensor", `${(largestTensor / MB).toFixed(0)} MB`],
  [
    "merge peak RSS",
    `${(peakRss / MB).toFixed(0)} MB (Node runtime alone ${(runtimeRss / MB).toFixed(0)} MB; merge's own ${(mergeOwn / MB).toFixed(0)} MB)`,
  ],
  [
    "peak RSS / largest tensor",
    `${(peakRss / largestTensor).toFixed(2)}x total, ${(mergeOwn / largestTensor).toFixed(2)}x own  (goal <= 2x)`,
  ],
];
const width = Math.max(...rows.map((r) => r[0].length));
console.log(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n"));
console.log(
  JSON.stringify({
    bench: "merge",
    ours: Number(mergeSeconds.toFixed(3)),
    reference: Number(copySynced.toFixed(3)),
    ratio: Number((mergeSeconds / copySynced).toFixed(3)),
    unit: "s",
    goal: "<= 1.5",
    peak_rss_over_largest_tensor: Number((peakRss / largestTensor).toFixed(3)),
    cp_seconds: Number(copySeconds.toFixed(3)),
  }),
);
