import { TuneError } from "../errors/index.js";

/** The fields of a BERT-family config.json the tfjs engine uses (BERT, RoBERTa). */
export interface BertConfig {
  family: "bert" | "roberta";
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  layerNormEps: number;
  maxPositions: number;
  typeVocabSize: number;
  hiddenDropout: number;
  attentionDropout: number;
  classifierDropout: number;
  padTokenId: number;
}

export function bertConfigFrom(raw: Record<string, unknown>, file: string): BertConfig {
  const family = raw.model_type === "roberta" ? "roberta" : "bert";
  const act = String(raw.hidden_act ?? "gelu");
  if (act !== "gelu") {
    throw TuneError.single({
      code: "model-unsupported",
      message: `hidden_act ${act} is not supported by the tfjs engine (gelu is)`,
      location: { file },
      hint: "Use engine: torch for this model.",
    });
  }
  if ((raw.position_embedding_type ?? "absolute") !== "absolute") {
    throw TuneError.single({
      code: "model-unsupported",
      message: `position_embedding_type ${String(raw.position_embedding_type)} is not supported by the tfjs engine (absolute is)`,
      location: { file },
      hint: "Use engine: torch for this model.",
    });
  }
  const hiddenDropout = Number(raw.hidden_dropout_prob ?? 0.1);
  return {
    family,
    vocabSize: Number(raw.vocab_size),
    hiddenSize: Number(raw.hidden_size),
    intermediateSize: Number(raw.intermediate_size),
    layers: Number(raw.num_hidden_layers),
    heads: Number(raw.num_attention_heads),
    layerNormEps: Number(raw.layer_norm_eps ?? 1e-12),
    maxPositions: Number(raw.max_position_embeddings ?? 512),
    typeVocabSize: Number(raw.type_vocab_size ?? 2),
    hiddenDropout,
    attentionDropout: Number(raw.attention_probs_dropout_prob ?? 0.1),
    classifierDropout: typeof raw.classifier_dropout === "number" ? raw.classifier_dropout : hiddenDropout,
    padTokenId: typeof raw.pad_token_id === "number" ? raw.pad_token_id : family === "roberta" ? 1 : 0,
  };
}

/** transformers' *ForSequenceClassification prefix of the encoder's weights. */
export function bertPrefix(config: BertConfig): string {
  return config.family;
}

/**
 * The linear modules LoRA can adapt, with [out, in] sizes, named as in
 * Bert/RobertaForSequenceClassification. BERT's pooler is one (PEFT's all-linear adapts it);
 * RoBERTa's classification head is trained in full instead.
 */
export function bertLinearModules(c: BertConfig): Array<{ module: string; out: number; input: number }> {
  const h = c.hiddenSize;
  const p = bertPrefix(c);
  const modules: Array<{ module: string; out: number; input: number }> = [];
  for (let layer = 0; layer < c.layers; layer++) {
    const l = `${p}.encoder.layer.${layer}`;
    modules.push(
      { module: `${l}.attention.self.query`, out: h, input: h },
      { module: `${l}.attention.self.key`, out: h, input: h },
      { module: `${l}.attention.self.value`, out: h, input: h },
      { module: `${l}.attention.output.dense`, out: h, input: h },
      { module: `${l}.intermediate.dense`, out: c.intermediateSize, input: h },
      { module: `${l}.output.dense`, out: h, input: c.intermediateSize },
    );
  }
  if (c.family === "bert") modules.push({ module: `${p}.pooler.dense`, out: h, input: h });
  return modules;
}
