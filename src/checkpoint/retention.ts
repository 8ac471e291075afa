import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { checkpointSteps } from "./find-checkpoints.js";

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
