import { existsSync, readFileSync, readlinkSync, renameSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { makeFolders, writeFileAtomic } from "../files/index.js";

const COMMIT = /^[0-9a-f]{40}$/;

/** `models--owner--name` in the Hugging Face cache, as huggingface_hub names it. */
export function repoCacheFolder(cacheDir: string, id: string): string {
  return join(cacheDir, `models--${id.replaceAll("/", "--")}`);
}

/**
 * The snapshot a revision (branch, tag or commit) points at, if the cache has it. A ref file is
 * read like any other input: only a commit id in it becomes a folder name.
 */
export function cachedSnapshot(
  cacheDir: string,
  id: string,
  revision: string,
): { dir: string; commit: string } | undefined {
  const refFile = join(repoCacheFolder(cacheDir, id), "refs", revision);
  const commit = COMMIT.test(revision)
    ? revision
    : existsSync(refFile)
      ? readFileSync(refFile, "utf8").trim()
      : undefined;
  if (!commit || !COMMIT.test(commit)) return undefined;
  const dir = snapshotFolder(cacheDir, id, commit);
  return existsSync(join(dir, "config.json")) ? { dir, commit } : undefined;
}

export function snapshotFolder(cacheDir: string, id: string, commit: string): string {
  return join(repoCacheFolder(cacheDir, id), "snapshots", commit);
}

/** refs/<branch> → commit, which is what lets Python resolve the branch offline. */
export function writeRef(cacheDir: string, id: string, revision: string, commit: string): void {
  if (revision === commit) return;
  const file = join(repoCacheFolder(cacheDir, id), "refs", revision);
  makeFolders(dirname(file));
  writeFileAtomic(file, commit);
}

/**
 * snapshots/<commit>/<path> as a relative symlink to blobs/<etag>, the layout Python expects. A
 * link that points anywhere else (left by an older download, or planted) is replaced atomically.
 */
export function linkSnapshotFile(cacheDir: string, id: string, commit: string, path: string, etag: string): string {
  const pointer = join(snapshotFolder(cacheDir, id, commit), path);
  const target = relative(dirname(pointer), blobPath(cacheDir, id, etag));
  if (linkTarget(pointer) === target) return pointer;
  makeFolders(dirname(pointer));
  const temporary = `${pointer}.${process.pid}.link`;
  symlinkSync(target, temporary);
  renameSync(temporary, pointer);
  return pointer;
}

function linkTarget(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

export function blobPath(cacheDir: string, id: string, etag: string): string {
  return join(repoCacheFolder(cacheDir, id), "blobs", etag);
}
