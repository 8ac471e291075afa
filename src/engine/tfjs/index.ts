export { selectBackend, type TfjsBackend } from "./backend.js";
export { generate, type GenerateOptions } from "./generate.js";
export { loadModel } from "./load-model.js";
export { lastNonPad } from "./llama-model.js";
export { createLora, type Lora, type LoraModule } from "./lora.js";
export { linearModules, readModelConfig, type LinearModule, type ModelConfig } from "./model-config.js";
export type { ForwardOptions, HeadTensor, KvCache, LinearAdapter, TfjsModel } from "./model.js";
export { predictSplit, type PredictionSummary, type Predictor } from "./predict-tfjs.js";
export { trainTfjs, type TrainEvent, type TrainOptions } from "./train-tfjs.js";
