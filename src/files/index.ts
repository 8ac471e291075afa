export { syncDirectory, writeFileAtomic, type ChunkWriter } from "./atomic-write.js";
export { makeFolders } from "./make-folders.js";
export { publishFolder, replaceFolder, temporaryFolderFor } from "./publish-folder.js";
export { readStateFile } from "./state-file.js";
export { cacheFailure, defaultCacheRoot } from "./cache-root.js";
