export { checkpointProblem, checkpointSteps, findCheckpoints, type CheckpointProblem } from "./find-checkpoints.js";
export { MANIFEST, manifestProvenance, writeManifest } from "./manifest.js";
export { removeLeftovers, retainCheckpoints } from "./retention.js";
