import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MANIFEST } from "./manifest.js";

export interface CheckpointProblem {
  dir: string;
  why: string;
}

/** Steps of the `checkpoint-<step>` folders in a run directory, newest first. */
export function checkpointSteps(runDir: string): number[] {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .map((name) => /^checkpoint-(\d+)$/.exec(name)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
}

/** Checkpoint folders of a run, newest first, split into complete ones and the rest (with why). */
export function findCheckpoints(runDir: string): {
  valid: Array<{ dir: string; step: number }>;
  invalid: CheckpointProblem[];
} {
  const steps = checkpointSteps(runDir);
  const valid: Array<{ dir: string; step: number }> = [];
  const invalid: CheckpointProblem[] = [];
  for (const step of steps) {
    const dir = join(runDir, `checkpoint-${step}`);
    const why = checkpointProblem(dir);
    if (why) invalid.push({ dir, why });
    else valid.push({ dir, step });
  }
  return { valid, invalid };
}

/**
 * Why a checkpoint folder cannot be trusted, or null: MANIFEST.json is written last, so a
 * missing manifest means an interrupted write; a hash or size mismatch means damage.
 */
export function checkpointProblem(dir: string): string | null {
  const manifestFile = join(dir, MANIFEST);
  if (!existsSync(manifestFile)) return "no MANIFEST.json (the write was interrupted)";
  let manifest: { files?: Record<string, { sha256: string; bytes: number }> };
  try {
    manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as typeof manifest;
  } catch {
    return "MANIFEST.json is not valid JSON";
  }
  for (const [name, expected] of Object.entries(manifest.files ?? {})) {
    const file = join(dir, name);
    if (!existsSync(file)) return `${name} is missing`;
    const bytes = readFileSync(file);
    if (bytes.length !== expected.bytes)
      return `${name} has ${bytes.length} bytes, the manifest says ${expected.bytes}`;
    if (createHash("sha256").update(bytes).digest("hex") !== expected.sha256)
      return `${name} does not match its sha256`;
  }
  return null;
}
