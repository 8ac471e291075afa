export { evaluateCheckpointSplit } from "./evaluate-checkpoint-split.js";
export { evaluateCheckpoint, planForDataFile, predictWithEngine } from "./evaluate-checkpoint.js";
