import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { LengthStats } from "../../data/index.js";
import { worldSize, type RunPlan } from "../../recipe/index.js";

/** Dense bf16 tensor-core peaks (FLOP/s) of common GPUs, for the time estimate. */
export const GPU_PEAKS: Record<string, number> = {
  "H100 (SXM)": 989e12,
  A100: 312e12,
  L40S: 362e12,
  "RTX 4090": 165e12,
  A10G: 125e12,
  L4: 121e12,
  "T4 (fp16)": 65e12,
};

/** The share of peak a LoRA step reaches on a GPU in practice, for the time estimate. */
const ASSUMED_UTILISATION = 0.35;
const CUDA_OVERHEAD_BYTES = 0.8e9;
const FRAGMENTATION = 1.1;
/** python-bridge/tune_bridge/loss.py's CHUNK_BYTES: the most fp32 logits the causal loss holds at once. */
export const LOSS_CHUNK_BYTES = 128 * 2 ** 20;

export interface MemoryEstimate {
  parameters: { total: number; linear: number; lora: number; saved: number };
  /** Bytes of each part of the peak, and the total with CUDA's context and fragmentation. */
  bytes: {
    base: number;
    trainable: number;
    optimizer: number;
    activations: number;
    activationsWithoutCheckpointing: number;
    activationsWithCheckpointing: number;
    logits: number;
    total: number;
  };
  /**
   * Each GPU's peak when the run is spread over several processes, one per GPU: with ddp (each a
   * whole copy) and fsdp (null where refused: over a quantized base), for the recipe's process
   * count, or for 2, 4 and 8 when the recipe trains in one.
   */
  perGpu: Array<{ processes: number; ddp: number; fsdp: number | null }>;
  /** Seconds per epoch at the assumed utilisation, per GPU. */
  epochSeconds: Record<string, number>;
  assumptions: string[];
}

interface ModelShape {
  hidden: number;
  layers: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  tied: boolean;
  gated: boolean;
}

function modelShape(modelDir: string): ModelShape {
  const raw = JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8")) as Record<string, unknown>;
  const hidden = Number(raw.hidden_size);
  const heads = Number(raw.num_attention_heads);
  return {
    hidden,
    layers: Number(raw.num_hidden_layers),
    intermediate: Number(raw.intermediate_size ?? 4 * hidden),
    heads,
    kvHeads: Number(raw.num_key_value_heads ?? heads),
    headDim: Number(raw.head_dim ?? hidden / heads),
    vocab: Number(raw.vocab_size),
    tied: raw.tie_word_embeddings !== false,
    gated: ["silu", "swiglu"].includes(String(raw.hidden_act ?? "silu")),
  };
}

/**
 * Peak GPU memory and time per epoch of a torch-engine run, before any GPU time is spent:
 * the base weights at their precision (NF4 with its block scales, int8, or 16/32-bit), LoRA
 * weights, gradients and optimizer state, activations of the largest micro-batch (batch_size x
 * the longest example: a padded run's worst, and the most a padding-free row holds) (Korthikanti et al.'s per-layer count, attention through SDPA, so no score matrix;
 * with gradient checkpointing only each layer's input is kept), the logits a causal LM holds,
 * then CUDA's context and fragmentation. Time assumes 35% of each GPU's dense bf16 peak, with
 * forward and backward through the frozen base (4 FLOPs per linear weight and token, 6 when
 * checkpointing recomputes).
 */
export function estimateMemory(plan: RunPlan, modelDir: string, train: LengthStats): MemoryEstimate {
  const m = modelShape(modelDir);
  const q = m.heads * m.headDim;
  const kv = m.kvHeads * m.headDim;
  const perLayer: Array<[string, number, number]> = [
    ["q_proj", m.hidden, q],
    ["k_proj", m.hidden, kv],
    ["v_proj", m.hidden, kv],
    ["o_proj", q, m.hidden],
    ["up_proj", m.hidden, m.intermediate],
    ["down_proj", m.intermediate, m.hidden],
    ...(m.gated ? [["gate_proj", m.hidden, m.intermediate] as [string, number, number]] : []),
  ];
  const linear = m.layers * perLayer.reduce((n, [, input, out]) => n + input * out, 0);
  const embeddings = m.vocab * m.hidden * (m.tied ? 1 : 2);
  const total = linear + embeddings + m.layers * 2 * m.hidden + m.hidden;
  const targets =
    plan.lora.target_modules === "all-linear"
      ? null
      : new Set(plan.lora.target_modules.map((t) => t.split(".").at(-1) as string));
  const lora =
    m.layers *
      perLayer
        .filter(([name]) => !targets || targets.has(name))
        .reduce((n, [, input, out]) => n + plan.lora.r * (input + out), 0) +
    (targets?.has("lm_head") ? plan.lora.r * (m.hidden + m.vocab) : 0);
  const classes = plan.data.labels?.length ?? 0;
  const saved =
    (plan.task === "sequence-classification" ? classes * m.hidden : 0) +
    plan.lora.modules_to_save.filter((name) => name === "lm_head" || name === "embed_tokens").length *
      m.vocab *
      m.hidden;

  const quantization = plan.quantization;
  const weightBytes = quantization
    ? quantization.bits === 4
      ? 0.5 + (quantization.double_quant ? 1 / 64 + 4 / (64 * 256) : 4 / 64)
      : 1 + 4 / m.hidden
    : plan.model.dtype === "float32"
      ? 4
      : 2;
  // Quantized, the rest of the model (embeddings, heads, norms) trains in fp32, as
  // prepare_model_for_kbit_training and the built-in quantizer leave it.
  const otherBytes = quantization || plan.model.dtype === "float32" ? 4 : 2;
  const base = linear * weightBytes + (total - linear) * otherBytes;
  const trainable = (lora + saved) * 4;
  const optimizerBytesPerParameter = {
    adamw: 8,
    paged_adamw_32bit: 8,
    adamw_8bit: 2,
    paged_adamw_8bit: 2,
    adafactor: 4,
    sgd: 0,
  }[plan.training.optimizer];
  const optimizer = (lora + saved) * (4 + optimizerBytesPerParameter);
  const length = Math.min(plan.data.max_length, train.tokens.max || plan.data.max_length);
  const tokens = plan.training.batch_size * length;
  const activationBytes = plan.training.precision === "fp32" ? 4 : 2;
  const perTokenLayer = (10 * m.hidden + 6 * m.intermediate) * activationBytes;
  const activationsWithoutCheckpointing = tokens * m.layers * perTokenLayer;
  const activationsWithCheckpointing = tokens * (m.layers * m.hidden * activationBytes + perTokenLayer);
  const activations = plan.training.gradient_checkpointing
    ? activationsWithCheckpointing
    : activationsWithoutCheckpointing;
  // The causal head runs in chunks of rows (the lean loss): each chunk's logits at the activation
  // precision, in fp32, and their fp32 gradient.
  const chunkRows = Math.min(tokens, Math.max(1, Math.floor(LOSS_CHUNK_BYTES / (4 * m.vocab))));
  const logits = plan.task === "sequence-classification" ? 0 : chunkRows * m.vocab * (activationBytes + 8);
  const withOverhead = (bytes: number) => bytes * FRAGMENTATION + CUDA_OVERHEAD_BYTES;
  const peak = withOverhead(base + trainable + optimizer + activations + logits);
  // DDP keeps a flat copy of the gradients in its all-reduce buckets. FSDP2 (python-bridge/
  // tune_bridge/fsdp.py) keeps 1/N of each decoder layer, of the LoRA weights and of their
  // optimizer state, gathers two layers whole at a time (the one computing and the one
  // prefetched) and keeps the root unit (embeddings, final norm, head) whole through the step.
  const layerBytes = linear * weightBytes + m.layers * 2 * m.hidden * otherBytes;
  const rootBytes = base - layerBytes;
  const perStep = activations + logits + saved * (8 + optimizerBytesPerParameter);
  const loraState = lora * (8 + optimizerBytesPerParameter);
  const world = worldSize(plan.distributed);
  const perGpu = (world > 1 ? [world] : [2, 4, 8]).map((processes) => ({
    processes,
    ddp: withOverhead(base + trainable + optimizer + (lora + saved) * 4 + activations + logits),
    fsdp: quantization
      ? null
      : withOverhead(
          layerBytes / processes +
            (2 * layerBytes) / m.layers +
            rootBytes * (1 + 1 / processes) +
            loraState / processes +
            perStep,
        ),
  }));

  const flopsPerToken = (plan.training.gradient_checkpointing ? 6 : 4) * linear;
  const epochTokens = train.tokens.total;
  const epochSeconds = Object.fromEntries(
    Object.entries(GPU_PEAKS).map(([gpu, peakFlops]) => [
      gpu,
      (flopsPerToken * epochTokens) / (peakFlops * ASSUMED_UTILISATION),
    ]),
  );
  return {
    parameters: { total, linear, lora, saved },
    bytes: {
      base,
      trainable,
      optimizer,
      activations,
      activationsWithoutCheckpointing,
      activationsWithCheckpointing,
      logits,
      total: peak,
    },
    perGpu,
    epochSeconds,
    assumptions: [
      `micro-batch ${plan.training.batch_size} x ${length} tokens (the data's longest example)`,
      `${Math.round(ASSUMED_UTILISATION * 100)}% of each GPU's dense bf16 peak`,
      `${(CUDA_OVERHEAD_BYTES / 1e9).toFixed(1)} GB for CUDA's context and ${Math.round((FRAGMENTATION - 1) * 100)}% for fragmentation`,
    ],
  };
}

/** Whether a peak of `peakBytes` fits a GPU with `memoryBytes`, keeping 10% free. */
export function fitsGpu(peakBytes: number, memoryBytes: number): boolean {
  return peakBytes <= memoryBytes * 0.9;
}
