export { writeFileAtomic, type ChunkWriter } from "./atomic-write.js";
export { MANIFEST, writeManifest } from "./manifest.js";
