export { writeFileAtomic, type ChunkWriter } from "./atomic-write.js";
