import { TuneError } from "../errors/index.js";

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
  /** Rotary inverse frequencies (headDim / 2), float32 as transformers computes them, scaling applied. */
  ropeInvFreq: number[];
  tieWordEmbeddings: boolean;
  attentionBias: boolean;
  padTokenId: number | null;
  /** Tokens that end a generated answer. */
  eosTokenIds: number[];
}

interface RopeParameters {
  rope_type?: string;
  type?: string;
  rope_theta?: number;
  factor?: number;
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
}

export function llamaConfigFrom(raw: Record<string, unknown>, file: string): LlamaConfig {
  const hiddenSize = Number(raw.hidden_size);
  const heads = Number(raw.num_attention_heads);
  const headDim = Number(raw.head_dim ?? hiddenSize / heads);
  const eos = raw.eos_token_id;
  return {
    vocabSize: Number(raw.vocab_size),
    hiddenSize,
    intermediateSize: Number(raw.intermediate_size),
    layers: Number(raw.num_hidden_layers),
    heads,
    kvHeads: Number(raw.num_key_value_heads ?? heads),
    headDim,
    rmsNormEps: Number(raw.rms_norm_eps ?? 1e-6),
    ropeInvFreq: ropeInverseFrequencies(raw, headDim, file),
    tieWordEmbeddings: raw.tie_word_embeddings !== false,
    attentionBias: raw.attention_bias === true || raw.model_type === "qwen2",
    padTokenId: typeof raw.pad_token_id === "number" ? raw.pad_token_id : null,
    eosTokenIds: Array.isArray(eos) ? eos.map(Number) : typeof eos === "number" ? [eos] : [],
  };
}

/**
 * transformers' rotary inverse frequencies in float32: the default 1/θ^(2i/d), divided by the
 * factor for "linear" scaling, or Llama 3.1's band-wise rescaling for "llama3". transformers 5
 * writes these settings as rope_parameters; older versions as rope_theta and rope_scaling.
 */
function ropeInverseFrequencies(raw: Record<string, unknown>, headDim: number, file: string): number[] {
  const rope: RopeParameters = {
    ...((raw.rope_scaling ?? {}) as RopeParameters),
    ...((raw.rope_parameters ?? {}) as RopeParameters),
  };
  const type = rope.rope_type ?? rope.type ?? "default";
  const theta = Number(rope.rope_theta ?? raw.rope_theta ?? 10000);
  const base = Array.from({ length: headDim / 2 }, (_, i) =>
    Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim))),
  );
  const factor = Number(rope.factor ?? 1);
  switch (type) {
    case "default":
      return base;
    case "linear":
      return base.map((f) => Math.fround(f / factor));
    case "llama3": {
      const low = Number(rope.low_freq_factor ?? 1);
      const high = Number(rope.high_freq_factor ?? 4);
      const context = Number(rope.original_max_position_embeddings ?? 8192);
      return base.map((f) => {
        const wavelength = Math.fround((2 * Math.PI) / f);
        if (wavelength < context / high) return f;
        if (wavelength > context / low) return Math.fround(f / factor);
        const smooth = Math.fround((Math.fround(context / wavelength) - low) / (high - low));
        return Math.fround(Math.fround(((1 - smooth) * f) / factor) + Math.fround(smooth * f));
      });
    }
    default:
      throw TuneError.single({
        code: "model-unsupported",
        message: `rope type "${type}" is not supported by the tfjs engine (default, linear and llama3 are)`,
        location: { file },
        hint: "Use engine: torch for this model.",
      });
  }
}

/** Linear modules of the decoder layers, with [out, in] sizes, layer by layer. */
export function llamaLinearModules(c: LlamaConfig): Array<{ module: string; out: number; input: number }> {
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;
  const perLayer: Array<[string, number, number]> = [
    ["self_attn.q_proj", q, c.hiddenSize],
    ["self_attn.k_proj", kv, c.hiddenSize],
    ["self_attn.v_proj", kv, c.hiddenSize],
    ["self_attn.o_proj", c.hiddenSize, q],
    ["mlp.gate_proj", c.intermediateSize, c.hiddenSize],
    ["mlp.up_proj", c.intermediateSize, c.hiddenSize],
    ["mlp.down_proj", c.hiddenSize, c.intermediateSize],
  ];
  return Array.from({ length: c.layers }, (_, layer) =>
    perLayer.map(([name, out, input]) => ({ module: `model.layers.${layer}.${name}`, out, input })),
  ).flat();
}
