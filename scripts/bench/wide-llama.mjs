// The benchmarks' "4x wider" Llama: the tiny model's tokenizer files and config with hidden and
// intermediate sizes x4 (heads x2, so head_dim goes 16 -> 32), and random weights that
// transformers' LlamaForCausalLM initialises and saves (Python, scripts/bench/train_cpu_torch.py),
// so the names and layout are transformers' own.

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HELPER = join(dirname(fileURLToPath(import.meta.url)), "train_cpu_torch.py");

export const WIDE_SIZES = {
  hidden_size: 256,
  intermediate_size: 704,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 32,
};

/** Builds the model in `dir` from the tiny model's folder and config; returns its parameter count. */
export function wideLlama(dir, tinyDir, tinyConfig, python, seed) {
  mkdirSync(dir, { recursive: true });
  for (const file of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(tinyDir, file), join(dir, file));
  writeFileSync(join(dir, "config.json"), `${JSON.stringify({ ...tinyConfig, ...WIDE_SIZES }, null, 2)}\n`);
  return JSON.parse(
    execFileSync(python, [HELPER, "make-model", dir, "--seed", String(seed)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }),
  ).parameters;
}
