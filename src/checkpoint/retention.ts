import { existsSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { syncDirectory } from "./atomic-write.js";
import { checkpointSteps } from "./find-checkpoints.js";

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

/** Removes half-built (`.tmp-`) and superseded (`.replaced-`) folders a killed run left behind. */
export function removeLeftovers(runDir: string): string[] {
  if (!existsSync(runDir)) return [];
  const leftovers = readdirSync(runDir).filter((name) => /^checkpoint-\d+\.(tmp|replaced)-\d+$/.test(name));
  for (const name of leftovers) rmSync(join(runDir, name), { recursive: true, force: true });
  return leftovers;
}

/** Deletes all but the newest `keep` checkpoint folders, sparing `protect` (the best); returns the deleted ones. */
export function retainCheckpoints(runDir: string, keep: number, protect: string | null): string[] {
  const deleted: string[] = [];
  for (const step of checkpointSteps(runDir).slice(keep)) {
    const dir = join(runDir, `checkpoint-${step}`);
    if (dir === protect) continue;
    rmSync(dir, { recursive: true, force: true });
    deleted.push(dir);
  }
  return deleted;
}
