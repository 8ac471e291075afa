import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Writes the file's bytes in order; called with a function that appends one chunk. */
export type ChunkWriter = (append: (chunk: Uint8Array) => void) => void;

/**
 * Writes a file so that readers see either the old or the new content, never a torn one,
 * even if the process is killed or the machine loses power: temporary name, fsync, rename,
 * fsync of the folder. Large files are streamed through a ChunkWriter.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array | ChunkWriter): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(temporary, "w");
    try {
      const append = (chunk: Uint8Array) => {
        let written = 0;
        while (written < chunk.length) written += writeSync(fd, chunk, written);
      };
      if (typeof data === "function") data(append);
      else append(typeof data === "string" ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  syncDirectory(dirname(path));
}

/** fsync a folder, so renames inside it survive a power loss. */
export function syncDirectory(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
