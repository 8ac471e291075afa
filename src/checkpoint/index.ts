export { writeFileAtomic, type ChunkWriter } from "./atomic-write.js";
export { checkpointProblem, checkpointSteps, findCheckpoints, type CheckpointProblem } from "./find-checkpoints.js";
export { publishFolder, temporaryFolderFor } from "./publish-folder.js";
export { MANIFEST, manifestProvenance, writeManifest } from "./manifest.js";
export { removeLeftovers, replaceFolder, retainCheckpoints } from "./retention.js";
export { readStateFile } from "./state-file.js";
export { makeFolders } from "./make-folders.js";
