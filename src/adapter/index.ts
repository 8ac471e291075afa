export { writePeftAdapter, type AdapterTensors } from "./peft-adapter.js";
export * from "./safetensors/index.js";
export { adapterProblem } from "./check-adapter.js";
