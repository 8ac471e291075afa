export { writeFileAtomic, type ChunkWriter } from "./atomic-write.js";
export { checkpointProblem, findCheckpoints, type CheckpointProblem } from "./find-checkpoints.js";
export { MANIFEST, writeManifest } from "./manifest.js";
