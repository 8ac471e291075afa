export { selectBackend, type TfjsBackend } from "./backend.js";
export { readLlamaConfig, type LlamaConfig } from "./llama-config.js";
export { lastNonPad, loadLlamaModel, type LinearAdapter, type LlamaModel } from "./llama-model.js";
export { createLora, type Lora, type LoraModule } from "./lora.js";
export { trainTfjs, type TrainEvent, type TrainOptions } from "./train-tfjs.js";
