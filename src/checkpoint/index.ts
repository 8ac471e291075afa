export { checkpointProblem, checkpointSteps, findCheckpoints, type CheckpointProblem } from "./find-checkpoints.js";
export { checkpointEngine, MANIFEST, manifestProvenance, writeManifest } from "./manifest.js";
export { removeLeftovers, retainCheckpoints } from "./retention.js";
export { trainerState } from "./trainer-state.js";
export { checkpointEvaluations, checkpointMetrics, recordSplitEvaluation } from "./checkpoint-metrics.js";
