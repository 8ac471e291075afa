import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
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
});
