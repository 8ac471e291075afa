export { writePeftAdapter, type AdapterTensors } from "./peft-adapter.js";
export * from "./safetensors/index.js";
export { adapterProblem } from "./check-adapter.js";
export { earlierMerge, mergeAdapter, type MergeDtype, type MergeOptions, type MergeResult } from "./merge-adapter.js";
export { readPeftAdapter, type LoraPair, type PeftAdapter } from "./read-peft-adapter.js";
export { readAdapterConfig, type PeftConfig } from "./adapter-config.js";
export { peftConfigRefusals, type AdapterUse, type ConfigRefusal } from "./check-peft-config.js";
export { loraFromAdapter } from "./adapter-lora.js";
