import { loadBertModel } from "./bert-model.js";
import { loadLlamaModel } from "./llama-model.js";
import { readModelConfig } from "../../model/model-config.js";
import type { TfjsModel } from "./model.js";

/** The model in a folder as a TfjsModel: a Llama-family decoder or a BERT-family encoder. */
export function loadModel(dir: string): TfjsModel {
  const config = readModelConfig(dir);
  return config.family === "llama" ? loadLlamaModel(dir, config) : loadBertModel(dir, config);
}
