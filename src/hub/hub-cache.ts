import { existsSync, readdirSync, readFileSync, readlinkSync, renameSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { makeFolders, writeFileAtomic } from "../files/index.js";
import { COMMIT } from "./hub-names.js";
import type { HubRepo } from "./hub-repo.js";

/** `models--owner--name` or `datasets--owner--name` in the Hugging Face cache, as huggingface_hub names them. */
export function repoCacheFolder(cacheDir: string, repo: HubRepo): string {
  return join(cacheDir, `${repo.type}s--${repo.id.replaceAll("/", "--")}`);
}

/**
 * The snapshot a revision (branch, tag or commit) points at, if the cache has its folder. A ref
 * file is read like any other input: only a commit id in it becomes a folder name.
 */
export function cachedSnapshot(
  cacheDir: string,
  repo: HubRepo,
  revision: string,
): { dir: string; commit: string } | undefined {
  const refFile = join(repoCacheFolder(cacheDir, repo), "refs", revision);
  const commit = COMMIT.test(revision)
    ? revision
    : existsSync(refFile)
      ? readFileSync(refFile, "utf8").trim()
      : undefined;
  if (!commit || !COMMIT.test(commit)) return undefined;
  const dir = snapshotFolder(cacheDir, repo, commit);
  return existsSync(dir) ? { dir, commit } : undefined;
}

/** The repo paths a snapshot folder holds (its links, at any depth), sorted. */
export function snapshotFiles(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .flatMap((entry) => {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      return entry.isDirectory() ? snapshotFiles(dir, path) : [path];
    })
    .sort();
}

export function snapshotFolder(cacheDir: string, repo: HubRepo, commit: string): string {
  return join(repoCacheFolder(cacheDir, repo), "snapshots", commit);
}

/** refs/<branch> → commit, which is what lets Python resolve the branch offline. */
export function writeRef(cacheDir: string, repo: HubRepo, revision: string, commit: string): void {
  if (revision === commit) return;
  const file = join(repoCacheFolder(cacheDir, repo), "refs", revision);
  makeFolders(dirname(file));
  writeFileAtomic(file, commit);
}

/**
 * snapshots/<commit>/<path> as a relative symlink to blobs/<etag>, the layout Python expects. A
 * link that points anywhere else (left by an older download, or planted) is replaced atomically.
 */
export function linkSnapshotFile(cacheDir: string, repo: HubRepo, commit: string, path: string, etag: string): string {
  const pointer = join(snapshotFolder(cacheDir, repo, commit), path);
  const target = relative(dirname(pointer), blobPath(cacheDir, repo, etag));
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

export function blobPath(cacheDir: string, repo: HubRepo, etag: string): string {
  return join(repoCacheFolder(cacheDir, repo), "blobs", etag);
}
