import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tinyLlamaDir } from "../../src/builtin/index.js";
import { LOSS_CHUNK_BYTES } from "../../src/engine/torch/index.js";
import { ROOT, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

/** Llama-3.2-1B's architecture (config only: the estimate reads no weights). */
const LLAMA_32_1B = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  vocab_size: 128256,
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 64,
  hidden_act: "silu",
  tie_word_embeddings: true,
  pad_token_id: 0,
};

describe("tune validate on a torch recipe", () => {
  it("estimates peak GPU memory and time per epoch for the lora-bias setup, and says go/no-go for this machine", async () => {
    const dir = tempDir();
    const model = join(dir, "llama-3.2-1b");
    mkdirSync(model);
    const tiny = tinyLlamaDir(join(dir, "cache"));
    for (const file of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(tiny, file), join(model, file));
    writeFileSync(join(model, "config.json"), JSON.stringify(LLAMA_32_1B));
    const recipe = (checkpointing: boolean) =>
      `task: sequence-classification\nengine: torch\nmodel: {base: ./llama-3.2-1b}\nquantization: {bits: 4, double_quant: true}\nlora: {r: 16, alpha: 64, dropout: 0.1, target_modules: all-linear}\ndata: {file: ${join(ROOT, "recipes/data/quickstart/reviews.csv")}, labels: [negative, positive], max_length: 512}\ntraining: {batch_size: 4, gradient_accumulation: 4, optimizer: paged_adamw_32bit, gradient_checkpointing: ${checkpointing}}\n`;
    writeFileSync(join(dir, "plain.yaml"), recipe(false));
    writeFileSync(join(dir, "checkpointed.yaml"), recipe(true));
    const env = { TUNE_CACHE_DIR: join(dir, "cache") };
    const result = await tune(["validate", "plain.yaml", "--json"], { cwd: dir, env });
    expect(result.exitCode, result.stderr).toBe(0);
    type Estimate = {
      estimate: {
        parameters: { total: number; linear: number; lora: number };
        bytes: {
          base: number;
          logits: number;
          activations: number;
          activationsWithoutCheckpointing: number;
          total: number;
        };
      };
      gpus: unknown[];
    };
    const { torch_estimate: estimate } = JSON.parse(result.stdout) as { torch_estimate: Estimate };
    // Parameter counts equal transformers' own for this architecture (LlamaForCausalLM on the meta device).
    expect(estimate.estimate.parameters.total).toBe(1_235_814_400);
    expect(estimate.estimate.parameters.linear).toBe(973_078_528);
    // LoRA r 16 on q, k, v, o, gate, up, down of 16 layers.
    expect(estimate.estimate.parameters.lora).toBe(
      16 * 16 * (2048 + 2048 + 2 * (2048 + 512) + 2048 + 2048 + 3 * (2048 + 8192)),
    );
    // NF4 with double-quantized scales: half a byte per weight plus the scales; the rest in fp32,
    // as quantized training keeps it.
    expect(estimate.estimate.bytes.base).toBeCloseTo(
      973_078_528 * (0.5 + 1 / 64 + 4 / 16384) + (1_235_814_400 - 973_078_528) * 4,
      -3,
    );
    expect(estimate.estimate.bytes.logits).toBe(0);
    expect(estimate.estimate.bytes.activations).toBe(estimate.estimate.bytes.activationsWithoutCheckpointing);
    const checkpointed = JSON.parse(
      (await tune(["validate", "checkpointed.yaml", "--json"], { cwd: dir, env })).stdout,
    ) as { torch_estimate: Estimate };
    expect(checkpointed.torch_estimate.estimate.bytes.activations).toBeLessThan(
      estimate.estimate.bytes.activations / 5,
    );
    expect(checkpointed.torch_estimate.estimate.bytes.total).toBeLessThan(estimate.estimate.bytes.total);

    // SFT: the head's logits only ever exist one chunk of rows at a time (the lean loss), however
    // many tokens the micro-batch holds (32 x the data's longest example here).
    writeFileSync(
      join(dir, "sft.yaml"),
      `task: causal-lm\nengine: torch\nmodel: {base: ./llama-3.2-1b}\nlora: {r: 16, alpha: 32}\ndata: {file: ${join(ROOT, "recipes/data/quickstart/reviews.csv")}, max_length: 512}\ntemplate: {prompt: "Review: {text}\\nSentiment:", completion: " {label}"}\ntraining: {batch_size: 32}\n`,
    );
    const sft = await tune(["validate", "sft.yaml", "--json"], { cwd: dir, env });
    expect(sft.exitCode, sft.stderr).toBe(0);
    const rows = Math.floor(LOSS_CHUNK_BYTES / (4 * 128_256));
    expect((JSON.parse(sft.stdout) as { torch_estimate: Estimate }).torch_estimate.estimate.bytes.logits).toBe(
      rows * 128_256 * (2 + 8),
    );

    const text = await tune(["validate", "plain.yaml"], { cwd: dir, env });
    expect(text.stdout).toMatch(/^torch engine estimate \(before any GPU time\):$/m);
    expect(text.stdout).toMatch(/^ {2}peak GPU memory ~\d+\.\d\d GB: base weights 1\.55 GB/m);
    expect(text.stdout).toMatch(/^ {2}time per epoch: H100 \(SXM\) \d/m);
    expect(text.stdout).toContain("this machine: no NVIDIA GPU found");
  }, 120_000);

  it("gives each GPU's peak over several processes with ddp and fsdp, and says which fits the GPUs nvidia-smi reports", async () => {
    const dir = tempDir();
    const model = join(dir, "llama-8b");
    mkdirSync(model);
    const tiny = tinyLlamaDir(join(dir, "cache"));
    for (const file of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(tiny, file), join(model, file));
    // Llama-3.1-8B's architecture: 16 GB of bf16 weights, which one 16 GB GPU cannot train.
    writeFileSync(
      join(model, "config.json"),
      JSON.stringify({
        ...LLAMA_32_1B,
        hidden_size: 4096,
        intermediate_size: 14336,
        num_hidden_layers: 32,
        head_dim: 128,
        tie_word_embeddings: false,
      }),
    );
    // This machine's GPUs, as nvidia-smi lists them: two of 16 GB.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(
      join(bin, "nvidia-smi"),
      "#!/bin/sh\necho 'Tesla V100-SXM2-16GB, 16384'\necho 'Tesla V100-SXM2-16GB, 16384'\n",
    );
    chmodSync(join(bin, "nvidia-smi"), 0o755);
    const env = { TUNE_CACHE_DIR: join(dir, "cache"), PATH: `${bin}:${process.env.PATH ?? ""}` };
    const recipe = (extra: string) =>
      `task: sequence-classification\nengine: torch\nmodel: {base: ./llama-8b}\nlora: {r: 16, alpha: 32, target_modules: all-linear}\ndata: {file: ${join(ROOT, "recipes/data/quickstart/reviews.csv")}, labels: [negative, positive], max_length: 256}\ntraining: {batch_size: 2, gradient_checkpointing: true}\n${extra}`;
    writeFileSync(join(dir, "one.yaml"), recipe(""));
    writeFileSync(join(dir, "fsdp.yaml"), recipe("distributed: {processes: 8, strategy: fsdp}\n"));
    writeFileSync(join(dir, "nf4.yaml"), recipe("quantization: {bits: 4}\n"));
    type Estimate = {
      estimate: {
        parameters: { lora: number };
        bytes: { base: number; total: number };
        perGpu: Array<{ processes: number; ddp: number; fsdp: number | null }>;
      };
      gpus: Array<{ name: string; fits: boolean; fitsWith: Array<{ strategy: string; processes: number }> }>;
    };
    const validate = async (file: string) => {
      const result = await tune(["validate", file, "--json"], { cwd: dir, env });
      expect(result.exitCode, result.stderr).toBe(0);
      return (JSON.parse(result.stdout) as { torch_estimate: Estimate }).torch_estimate;
    };

    // One process: the peak over 2, 4 and 8 GPUs. DDP copies everything (and keeps its gradient
    // buckets besides); FSDP splits the base, the LoRA weights and their AdamW state (weights,
    // gradients, two moments: 16 bytes each), so doubling the processes halves exactly that.
    const one = await validate("one.yaml");
    const { bytes, parameters, perGpu } = one.estimate;
    expect(perGpu.map((p) => p.processes)).toEqual([2, 4, 8]);
    for (const { ddp } of perGpu) expect(ddp).toBeGreaterThan(bytes.total);
    const sharded = (bytes.base + parameters.lora * 16) * 1.1;
    const [two = NaN, four = NaN, eight = NaN] = perGpu.map((p) => p.fsdp as number);
    expect(two - four).toBeCloseTo(sharded / 4, -3);
    expect(four - eight).toBeCloseTo(sharded / 8, -3);
    // It does not fit one 16 GB GPU, nor two with ddp; it does with fsdp over 2 or more.
    const ways = one.gpus[0]?.fitsWith.map((w) => `${w.strategy} over ${w.processes}`);
    expect(one.gpus.map((g) => g.fits)).toEqual([false, false]);
    expect(ways).toEqual(["fsdp over 2", "fsdp over 4", "fsdp over 8"]);
    const text = await tune(["validate", "one.yaml"], { cwd: dir, env });
    expect(text.stdout).toMatch(
      /^ {2}per GPU, one process each, over 2 processes: ddp ~\d+\.\d\d GB, fsdp ~\d+\.\d\d GB; 4 processes/m,
    );
    expect(text.stdout).toContain(
      "this machine: Tesla V100-SXM2-16GB, 16 GiB: no-go (quantize, lower batch_size or max_length, or train one process per GPU with fsdp over 2, fsdp over 4, fsdp over 8)",
    );

    // A recipe that spreads itself is judged as it is written: fsdp over its 8 processes.
    const spread = await validate("fsdp.yaml");
    expect(spread.estimate.perGpu).toEqual([{ processes: 8, ddp: perGpu[2]?.ddp, fsdp: eight }]);
    expect(spread.gpus.map((g) => g.fits)).toEqual([true, true]);

    // fsdp over a quantized base is refused, so it is never offered.
    const nf4 = await validate("nf4.yaml");
    expect(nf4.estimate.perGpu.every((p) => p.fsdp === null)).toBe(true);
    expect(nf4.gpus[0]?.fitsWith.every((w) => w.strategy === "ddp")).toBe(true);
  }, 120_000);
});
