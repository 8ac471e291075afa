import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TuneError } from "../../errors/index.js";

/** The fields of a Llama-family config.json the tfjs engine uses (Llama 2/3, Qwen2, Mistral). */
export interface LlamaConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  attentionBias: boolean;
  padTokenId: number | null;
}

const LLAMA_FAMILY = new Set(["llama", "qwen2", "mistral"]);

export function readLlamaConfig(dir: string): LlamaConfig {
  const file = join(dir, "config.json");
  const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  if (!LLAMA_FAMILY.has(String(raw.model_type))) {
    throw TuneError.single({ code: "model-unsupported", message: `model_type ${String(raw.model_type)} is not a Llama-family model`, location: { file }, hint: "The tfjs engine runs Llama, Qwen2 and Mistral models; use engine: torch for others." });
  }
  // transformers 5 writes rope settings as rope_parameters; older versions as rope_theta/rope_scaling.
  const rope = (raw.rope_parameters ?? {}) as { rope_theta?: number; rope_type?: string };
  const ropeType = rope.rope_type ?? (raw.rope_scaling as { rope_type?: string; type?: string } | null | undefined)?.rope_type ?? (raw.rope_scaling ? "scaled" : "default");
  if (ropeType !== "default") {
    throw TuneError.single({ code: "model-unsupported", message: `rope type "${ropeType}" is not supported by the tfjs engine yet`, location: { file }, hint: "Use engine: torch for this model." });
  }
  const hiddenSize = Number(raw.hidden_size);
  const heads = Number(raw.num_attention_heads);
  return {
    vocabSize: Number(raw.vocab_size),
    hiddenSize,
    intermediateSize: Number(raw.intermediate_size),
    layers: Number(raw.num_hidden_layers),
    heads,
    kvHeads: Number(raw.num_key_value_heads ?? heads),
    headDim: Number(raw.head_dim ?? hiddenSize / heads),
    rmsNormEps: Number(raw.rms_norm_eps ?? 1e-6),
    ropeTheta: Number(raw.rope_theta ?? rope.rope_theta ?? 10000),
    tieWordEmbeddings: raw.tie_word_embeddings !== false,
    attentionBias: raw.attention_bias === true || raw.model_type === "qwen2",
    padTokenId: typeof raw.pad_token_id === "number" ? raw.pad_token_id : null,
  };
}
