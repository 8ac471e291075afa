import { existsSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { makeFolders } from "./make-folders.js";

/** A fresh, empty temporary folder beside `dir`, to build it in before publishFolder. */
export function temporaryFolderFor(dir: string): string {
  const temporary = `${dir}.tmp-${process.pid}`;
  rmSync(temporary, { recursive: true, force: true });
  makeFolders(temporary);
  return temporary;
}

/**
 * Renames a folder built under a temporary name into place, so readers never see a half-built
 * one. `complete` names a file every finished folder has: a leftover without it is replaced,
 * and when another process won the race to the same (content-addressed) name, its folder is
 * kept and ours dropped.
 */
export function publishFolder(temporary: string, dir: string, complete: string): void {
  makeFolders(dirname(dir));
  if (existsSync(dir) && !existsSync(join(dir, complete))) rmSync(dir, { recursive: true, force: true });
  try {
    renameSync(temporary, dir);
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    if (!existsSync(join(dir, complete))) throw error;
  }
}
