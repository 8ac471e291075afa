import { existsSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { syncDirectory } from "./atomic-write.js";
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

/**
 * Puts a fully written checkpoint folder in place of `dir`, replacing an older folder of the
 * same step (a damaged one a resumed run is rewriting): the old one is renamed aside first and
 * removed after, so a crash in between leaves the older checkpoints, never a torn one.
 */
export function replaceFolder(temporary: string, dir: string): void {
  const old = `${dir}.replaced-${process.pid}`;
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(temporary, dir);
  syncDirectory(dirname(dir));
  rmSync(old, { recursive: true, force: true });
}
