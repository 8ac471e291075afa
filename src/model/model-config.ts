import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TuneError } from "../errors/index.js";
import { bertConfigFrom, bertLinearModules, type BertConfig } from "./bert-config.js";
import { llamaConfigFrom, llamaLinearModules, type LlamaConfig } from "./llama-config.js";

export type ModelConfig = ({ family: "llama" } & LlamaConfig) | BertConfig;

/** A classification head tensor: its transformers name, shape and how transformers initialises it. */
export interface HeadTensor {
  /** transformers weight name, e.g. score.weight or classifier.bias */
  name: string;
  shape: number[];
  init: "normal" | "zeros";
}

/** A linear module LoRA can adapt: its transformers name and [out, in] sizes. */
export interface LinearModule {
  module: string;
  out: number;
  input: number;
}

const LLAMA_FAMILY = new Set(["llama", "qwen2", "mistral"]);
const BERT_FAMILY = new Set(["bert", "roberta"]);

/** Whether a config.json's model_type is a family tune describes (and the tfjs engine runs). */
export function isKnownModelType(type: unknown): boolean {
  return typeof type === "string" && (LLAMA_FAMILY.has(type) || BERT_FAMILY.has(type));
}

/** config.json of a model folder, for the model families the tfjs engine runs. */
export function readModelConfig(dir: string): ModelConfig {
  const file = join(dir, "config.json");
  const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const type = String(raw.model_type);
  if (LLAMA_FAMILY.has(type)) return { family: "llama", ...llamaConfigFrom(raw, file) };
  if (BERT_FAMILY.has(type)) return bertConfigFrom(raw, file);
  throw TuneError.single({
    code: "model-unsupported",
    message: `model_type ${type} is not supported by the tfjs engine`,
    location: { file },
    hint: "The tfjs engine runs Llama, Qwen2 and Mistral decoders and BERT and RoBERTa encoders; use engine: torch for others.",
  });
}

export function linearModules(config: ModelConfig): LinearModule[] {
  return config.family === "llama" ? llamaLinearModules(config) : bertLinearModules(config);
}

/** The classification head's tensors for `classes` labels, named and initialised as transformers' *ForSequenceClassification does. */
export function classifierHead(config: ModelConfig, classes: number): HeadTensor[] {
  const h = config.hiddenSize;
  if (config.family === "llama") return [{ name: "score.weight", shape: [classes, h], init: "normal" }];
  if (config.family === "roberta") {
    return [
      { name: "classifier.dense.weight", shape: [h, h], init: "normal" },
      { name: "classifier.dense.bias", shape: [h], init: "zeros" },
      { name: "classifier.out_proj.weight", shape: [classes, h], init: "normal" },
      { name: "classifier.out_proj.bias", shape: [classes], init: "zeros" },
    ];
  }
  return [
    { name: "classifier.weight", shape: [classes, h], init: "normal" },
    { name: "classifier.bias", shape: [classes], init: "zeros" },
  ];
}
