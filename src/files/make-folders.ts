import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";

/**
 * `mkdir -p`, one folder at a time. Node's `mkdirSync(path, { recursive: true })` never returns
 * on a file system that answers ENOENT to a new folder (procfs, some FUSE mounts); here that
 * answer is an error with the path, like any other.
 */
export function makeFolders(path: string): void {
  const missing: string[] = [];
  for (let dir = path; !statSync(dir, { throwIfNoEntry: false }); dir = dirname(dir)) {
    missing.push(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (error) {
      // Another process made it meanwhile.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || !statSync(dir).isDirectory()) throw error;
    }
  }
}
