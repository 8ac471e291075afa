export { BRIDGE_PROTOCOL, bridgeCommand, runBridge, type BridgeEvent, type BridgeRun } from "./bridge-process.js";
export { epochsOfBatches, predictTorch, trainTorch } from "./train-torch.js";
export { setupPython, type SetupResult } from "./setup-python.js";
export { estimateMemory, fitsGpu, GPU_PEAKS, LOSS_CHUNK_BYTES, type MemoryEstimate } from "./estimate-memory.js";
export { torchEngine } from "./torch-engine.js";
