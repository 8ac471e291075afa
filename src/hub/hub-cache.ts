import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { writeFileAtomic } from "../checkpoint/index.js";

const COMMIT = /^[0-9a-f]{40}$/;

/** `models--owner--name` in the Hugging Face cache, as huggingface_hub names it. */
export function repoCacheFolder(cacheDir: string, id: string): string {
  return join(cacheDir, `models--${id.replaceAll("/", "--")}`);
}

/** The snapshot folder a revision (branch, tag or commit) points at, if the cache has it. */
export function cachedSnapshot(cacheDir: string, id: string, revision: string): string | undefined {
  const repo = repoCacheFolder(cacheDir, id);
  const refFile = join(repo, "refs", revision);
  const commit = COMMIT.test(revision) ? revision : existsSync(refFile) ? readFileSync(refFile, "utf8").trim() : undefined;
  if (!commit) return undefined;
  const snapshot = snapshotFolder(cacheDir, id, commit);
  return existsSync(join(snapshot, "config.json")) ? snapshot : undefined;
}

export function snapshotFolder(cacheDir: string, id: string, commit: string): string {
  return join(repoCacheFolder(cacheDir, id), "snapshots", commit);
}

/** refs/<branch> → commit, which is what lets Python resolve the branch offline. */
export function writeRef(cacheDir: string, id: string, revision: string, commit: string): void {
  if (revision === commit) return;
  const file = join(repoCacheFolder(cacheDir, id), "refs", revision);
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, commit);
}

/** snapshots/<commit>/<path> as a relative symlink to blobs/<etag>, the layout Python expects. */
export function linkSnapshotFile(cacheDir: string, id: string, commit: string, path: string, etag: string): string {
  const pointer = join(snapshotFolder(cacheDir, id, commit), path);
  if (existsSync(pointer)) return pointer;
  mkdirSync(dirname(pointer), { recursive: true });
  symlinkSync(relative(dirname(pointer), blobPath(cacheDir, id, etag)), pointer);
  return pointer;
}

export function blobPath(cacheDir: string, id: string, etag: string): string {
  return join(repoCacheFolder(cacheDir, id), "blobs", etag);
}
