import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { writeFileAtomic } from "../files/index.js";

export const MANIFEST = "MANIFEST.json";

/**
 * Writes MANIFEST.json with the sha256 and size of every file in a checkpoint folder. It is
 * written last: a folder without a valid manifest is incomplete and never resumed from.
 */
export function writeManifest(dir: string, extra: Record<string, unknown> = {}): void {
  const files: Record<string, { sha256: string; bytes: number }> = {};
  for (const file of listFiles(dir)) {
    const name = relative(dir, file);
    if (name === MANIFEST) continue;
    files[name] = { sha256: createHash("sha256").update(readFileSync(file)).digest("hex"), bytes: statSync(file).size };
  }
  writeFileAtomic(join(dir, MANIFEST), `${JSON.stringify({ manifest_version: 1, ...extra, files }, null, 2)}\n`);
}

/** The provenance a checkpoint's MANIFEST.json records (engine and versions), or null without one. */
export function manifestProvenance(dir: string): Record<string, unknown> | null {
  const file = join(dir, MANIFEST);
  return existsSync(file)
    ? ((JSON.parse(readFileSync(file, "utf8")) as { provenance?: Record<string, unknown> }).provenance ?? null)
    : null;
}

/**
 * The engine that wrote a checkpoint, as its manifest records: the one rule for which engine
 * reads a checkpoint (resumes, predicts with or chats with it), since only it knows its
 * optimizer state and numerics. Checkpoints without the record are the tfjs engine's.
 */
export function checkpointEngine(dir: string): "tfjs" | "torch" {
  return (manifestProvenance(dir)?.engine as { name?: string } | undefined)?.name === "torch" ? "torch" : "tfjs";
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path) : [path];
  });
}
