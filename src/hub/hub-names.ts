import { createHash, type Hash } from "node:crypto";
import type { ListFileEntry } from "@huggingface/hub";
import { ExitCode, redactSecrets, TuneError } from "../errors/index.js";
import { repoPathProblem } from "../recipe/index.js";

/** A commit id as the Hub writes it: 40 lowercase hex digits. */
export const COMMIT = /^[0-9a-f]{40}$/;
const GIT_OID = /^[0-9a-f]{40}$/;
const LFS_OID = /^[0-9a-f]{64}$/;

/** A server's value as a message may show it: short, escaped, cleaned of secrets. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return redactSecrets(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

/**
 * A Hub answer that tune will not act on. Names a server sends become cache paths (blobs/<oid>,
 * snapshots/<commit>/<path>, refs/<branch>), so anything but the exact shape is refused before
 * it reaches the file system: a broken mirror and a hostile one look the same from here.
 */
export function hubSentInvalid(endpoint: string, repo: string, what: string, value: unknown): TuneError {
  return TuneError.single(
    {
      code: "hub-invalid-reply",
      message: `the Hub at ${endpoint} sent an invalid ${what} for ${repo}: ${shown(value)}`,
      hint: "Nothing was written for it. A Hub that sends this is broken or not a Hugging Face Hub: check HF_ENDPOINT (and any proxy), then run again.",
    },
    ExitCode.environment,
  );
}

/** A file of a repo as listed, every name checked. */
export interface ListedFile {
  path: string;
  size: number;
  /** The git blob sha1, what regular files are checked against. */
  gitOid: string;
  /** LFS files only: what their content is checked against. */
  sha256?: string;
  /** The cache's name for the content: the sha256 for LFS files, the git oid otherwise. */
  etag: string;
}

/** Checks Hub answers for one repo before any of their names is used as a path. */
export function hubReplyChecker(endpoint: string, repo: string) {
  const refuse = (what: string, value: unknown) => hubSentInvalid(endpoint, repo, what, value);
  return {
    /** A commit id: 40 lowercase hex digits. */
    commit(value: unknown, what = "commit id"): string {
      if (typeof value !== "string" || !COMMIT.test(value)) throw refuse(what, value);
      return value;
    },
    /**
     * Any entry of a listing: a safe path, and for a file its git oid, size, and sha256 for LFS
     * files. Every entry is checked, used or not: a Hub that lists an unsafe name is not trusted
     * for the rest.
     */
    entry(entry: ListFileEntry): ListedFile {
      const problem = repoPathProblem(entry.path);
      if (problem) throw refuse(`file path (${problem})`, entry.path);
      if (entry.type !== "file") return { path: entry.path, size: 0, gitOid: "", etag: "" };
      if (typeof entry.oid !== "string" || !GIT_OID.test(entry.oid))
        throw refuse(`git oid of ${entry.path}`, entry.oid);
      if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw refuse(`size of ${entry.path}`, entry.size);
      if (entry.lfs) {
        if (typeof entry.lfs.oid !== "string" || !LFS_OID.test(entry.lfs.oid))
          throw refuse(`LFS sha256 of ${entry.path}`, entry.lfs.oid);
        if (entry.lfs.size !== entry.size) throw refuse(`LFS size of ${entry.path}`, entry.lfs.size);
      }
      const sha256 = entry.lfs?.oid;
      return {
        path: entry.path,
        size: entry.size,
        gitOid: entry.oid,
        ...(sha256 ? { sha256 } : {}),
        etag: sha256 ?? entry.oid,
      };
    },
  };
}

export type HubReplyChecker = ReturnType<typeof hubReplyChecker>;

/** The hash git (and so the Hub) names a regular file by: sha1 over `blob <size>\0` and the bytes; feed it the bytes. */
export function gitBlobHash(size: number): Hash {
  return createHash("sha1").update(`blob ${size}\0`);
}
