import { existsSync, renameSync } from "node:fs";

/**
 * `--restart` never deletes a run: the old folder becomes `<dir>.old-<timestamp>`.
 * Returns where it went, or null when there was nothing to move.
 */
export function moveRunAside(runDir: string, now = new Date()): string | null {
  if (!existsSync(runDir)) return null;
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  let target = `${runDir}.old-${stamp}`;
  for (let n = 2; existsSync(target); n++) target = `${runDir}.old-${stamp}-${n}`;
  renameSync(runDir, target);
  return target;
}
