export { selectBackend, type TfjsBackend } from "./backend.js";
export { readLlamaConfig, type LlamaConfig } from "./llama-config.js";
export { lastNonPad, loadLlamaModel, type LlamaModel } from "./llama-model.js";
export { trainTfjs, type TrainEvent, type TrainOptions } from "./train-tfjs.js";
