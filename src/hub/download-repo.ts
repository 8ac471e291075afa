import { createHash } from "node:crypto";
import {
  closeSync,
  createWriteStream,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { Readable, Transform } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { pipeline } from "node:stream/promises";
import { datasetInfo, downloadFile, listFiles, modelInfo, type ListFileEntry } from "@huggingface/hub";
import { ExitCode, isTuneError, TuneError } from "../errors/index.js";
import { hubIdProblem, revisionProblem } from "../recipe/index.js";
import { blobPath, cachedSnapshot, linkSnapshotFile, snapshotFiles, snapshotFolder, writeRef } from "./hub-cache.js";
import { hubCacheDir, hubOffline, speaksXet } from "./hub-environment.js";
import { hubFailure, type HubContext } from "./hub-failure.js";
import { gitBlobHash, hubReplyChecker, hubSentInvalid, type ListedFile } from "./hub-names.js";
import type { HubRepo } from "./hub-repo.js";
import { openHubSession, type HubSession } from "./hub-session.js";
import type { RetryOptions } from "./retrying-fetch.js";
import { makeFolders } from "../files/index.js";

export interface DownloadProgress {
  file: string;
  /** Bytes of all picked files that are on disk now, and in total. */
  done: number;
  total: number;
}

export interface DownloadOptions extends RetryOptions {
  onProgress?: (progress: DownloadProgress) => void;
  /**
   * List sub-folders too. Default: yes for datasets (their data lives in folders such as
   * `data/`), no for models (what a fine-tune needs is at the top; many repos carry large
   * `original/` or `onnx/` folders).
   */
  recursive?: boolean;
}

/** The text of one of the repo's files: fetched and checked into the cache first, or read from the cached snapshot offline. */
export type RepoFileReader = (path: string) => Promise<string>;

/**
 * Chooses the files a caller needs among a repo's file paths (every path already checked), in
 * the order it wants them. `read` serves choices that depend on a file's content, such as a
 * dataset card's `configs:`. Offline, it is given the cached snapshot's files instead of the
 * listing, so the same rule decides whether the cache holds what is needed.
 */
export type PickFiles = (paths: readonly string[], read: RepoFileReader) => string[] | Promise<string[]>;

export interface DownloadedRepo {
  /** snapshots/<commit> in the Hugging Face cache. */
  dir: string;
  commit: string;
  /** The picked paths, in the pick's order. */
  files: string[];
  /** Files fetched now (the rest were in the cache already). */
  fetched: string[];
  /** Set when the Hub could not be reached and an earlier download was used. */
  offlineReason?: string;
}

const FILE_ATTEMPTS = 3;
/** More entries than any repo tune reads has: a listing that goes on is refused, not followed forever. */
const MAX_ENTRIES = 100_000;
/** Files a pick reads (dataset cards) are small; a Hub listing a larger one is not believed. */
const MAX_READ_BYTES = 16 * 1024 * 1024;

/** The id and revision name cache folders; anything but a real Hub id and revision is refused before one is made. */
function refuseUnsafeNames(repo: HubRepo, revision: string): void {
  const why = hubIdProblem(repo.id) ?? revisionProblem(revision);
  if (why)
    throw TuneError.single(
      {
        code: "hub-id-invalid",
        message: `cannot download the ${repo.type} ${JSON.stringify(repo.id)} at revision ${JSON.stringify(revision)}: ${why}`,
        hint: "Check the repo id and revision in the recipe (or the flag that named them).",
      },
      ExitCode.user,
    );
}

/**
 * Resolves a Hub repo (model or dataset) into the shared Hugging Face cache (blobs,
 * snapshots/<commit>, refs) so Python tools find the same files offline: the revision is
 * resolved to a commit first, the repo is listed, `pick` chooses the files, and each is
 * checked against the listing by content (git blob sha1 for regular files, sha256 for LFS
 * files) before it is moved into place. Every name the Hub sends is checked before it becomes a
 * path. With HF_HUB_OFFLINE=1, or when the Hub cannot be reached and an earlier download
 * exists, the cache alone answers: `pick` applied to the cached snapshot's files must find
 * what it needs there.
 */
export async function downloadRepo(
  repo: HubRepo,
  revision: string,
  pick: PickFiles,
  options: DownloadOptions = {},
): Promise<DownloadedRepo> {
  refuseUnsafeNames(repo, revision);
  const cacheDir = hubCacheDir();
  if (hubOffline()) {
    const found = await fromCache(cacheDir, repo, revision, pick);
    if ("dir" in found) return found;
    throw TuneError.single(
      {
        code: `${repo.type}-not-cached`,
        message: `the ${repo.type} ${repo.id} (revision ${revision}) is not in the Hugging Face cache at ${cacheDir}${found.missing ? ` (${found.missing})` : ""}, and HF_HUB_OFFLINE=1 forbids downloading it`,
        hint: `Run once without HF_HUB_OFFLINE (or on a machine with access, then copy the cache), or point the recipe at local ${repo.type === "model" ? "folder" : "files"}.`,
      },
      ExitCode.environment,
    );
  }
  const session = openHubSession(options);
  const context: HubContext = {
    endpoint: session.endpoint,
    repo: repo.id,
    type: repo.type,
    revision,
    token: session.token,
    action: "download",
  };
  const check = hubReplyChecker(session.endpoint, repo.id);
  const common = session.client;

  let commit: string;
  let entries: ListFileEntry[];
  try {
    const info = { ...common, name: repo.id, revision, additionalFields: ["sha"] as "sha"[] };
    const sha = repo.type === "model" ? (await modelInfo(info)).sha : (await datasetInfo(info)).sha;
    commit = check.commit(sha, `commit id for revision ${revision}`);
    entries = [];
    const recursive = options.recursive ?? repo.type === "dataset";
    for await (const entry of listFiles({
      ...common,
      repo: { type: repo.type, name: repo.id },
      revision: commit,
      recursive,
    })) {
      if (entries.length >= MAX_ENTRIES)
        throw hubSentInvalid(session.endpoint, repo.id, "file listing (it does not end)", `${MAX_ENTRIES}+ entries`);
      entries.push(entry);
    }
  } catch (error) {
    const failure = hubFailure(error, context);
    if (failure.problems[0]?.code === "hub-unreachable") {
      const found = await fromCache(cacheDir, repo, revision, pick);
      if ("dir" in found) return { ...found, offlineReason: failure.problems[0].message };
    }
    throw failure;
  }

  const listed = new Map(
    entries
      .map((entry) => check.entry(entry))
      .filter((_, i) => entries[i]?.type === "file")
      .map((file) => [file.path, file]),
  );
  const fetched: string[] = [];
  const place = async (entry: ListedFile, onBytes: (bytes: number) => void) => {
    const blob = blobPath(cacheDir, repo, entry.etag);
    if (!cachedBlobMatches(blob, entry)) {
      try {
        await fetchBlob(entry, blob, { session, repo, commit }, onBytes);
      } catch (error) {
        throw hubFailure(error, context);
      }
      fetched.push(entry.path);
    }
    return linkSnapshotFile(cacheDir, repo, commit, entry.path, entry.etag);
  };
  const read: RepoFileReader = async (path) => {
    const entry = listedFile(listed, path);
    if (entry.size > MAX_READ_BYTES)
      throw hubSentInvalid(session.endpoint, repo.id, `size for ${path}, a file tune reads whole`, entry.size);
    return readFileSync(await place(entry, () => undefined), "utf8");
  };

  const picked = (await pick([...listed.keys()], read)).map((path) => listedFile(listed, path));
  const total = picked.reduce((sum, e) => sum + e.size, 0);
  let done = 0;
  for (const entry of picked) {
    await place(entry, (bytes) => options.onProgress?.({ file: entry.path, done: done + bytes, total }));
    done += entry.size;
    options.onProgress?.({ file: entry.path, done, total });
  }
  writeRef(cacheDir, repo, revision, commit);
  return {
    dir: snapshotFolder(cacheDir, repo, commit),
    commit,
    files: picked.map((entry) => entry.path),
    fetched,
  };
}

function listedFile(listed: Map<string, ListedFile>, path: string): ListedFile {
  const entry = listed.get(path);
  if (!entry) throw new Error(`a pick chose ${path}, which the repo does not list`);
  return entry;
}

/**
 * The cached snapshot of a revision, when `pick` finds what it needs among its files and each
 * picked file's link leads to a blob; else why not. The ref of a branch is written only after
 * every picked file is in place, so a branch's snapshot holds at least what the pick that wrote
 * it chose; a snapshot that an earlier, different pick filled may lack what this one needs,
 * which is said rather than guessed around.
 */
async function fromCache(
  cacheDir: string,
  repo: HubRepo,
  revision: string,
  pick: PickFiles,
): Promise<Omit<DownloadedRepo, "offlineReason"> | { missing: string | undefined }> {
  const found = cachedSnapshot(cacheDir, repo, revision);
  if (!found) return { missing: undefined };
  let files: string[];
  try {
    files = await pick(snapshotFiles(found.dir), async (path) => readFileSync(join(found.dir, path), "utf8"));
  } catch (error) {
    const said = isTuneError(error) ? error.problems[0]?.message : (error as Error).message;
    return { missing: `its snapshot ${found.commit} does not hold what is needed: ${said}` };
  }
  const absent = files.filter((path) => !existsSync(join(found.dir, path)));
  if (absent.length > 0) return { missing: `its snapshot ${found.commit} lacks ${absent.join(", ")}` };
  return { ...found, files, fetched: [] };
}

/**
 * A blob already in the cache is used when it is the listed file: LFS blobs were checked against
 * their sha256 before they were renamed into place, so their size suffices (re-hashing gigabytes
 * on every run would not be bearable); regular files are small and are hashed again.
 */
function cachedBlobMatches(blob: string, entry: ListedFile): boolean {
  const size = statSync(blob, { throwIfNoEntry: false })?.size;
  if (size !== entry.size) return false;
  if (entry.sha256) return true;
  const fd = openSync(blob, "r");
  try {
    const bytes = Buffer.alloc(size);
    readSync(fd, bytes, 0, size, 0);
    return gitBlobHash(size).update(bytes).digest("hex") === entry.gitOid;
  } finally {
    closeSync(fd);
  }
}

interface FetchParams {
  session: HubSession;
  repo: HubRepo;
  commit: string;
}

/** The listed file's bytes did not arrive: said as what it is, not as a network failure. */
class ContentMismatch extends Error {}

/**
 * Streams one file into `<blob>.incomplete`, checks its size and content hash against the
 * listing (stopping as soon as more bytes arrive than listed), and renames it into place. A
 * dropped connection or a mismatch starts that file again (a few times) before failing.
 */
async function fetchBlob(
  entry: ListedFile,
  blob: string,
  params: FetchParams,
  onBytes: (bytes: number) => void,
): Promise<void> {
  makeFolders(dirname(blob));
  const incomplete = `${blob}.incomplete`;
  const { endpoint } = params.session;
  for (let attempt = 1; ; attempt++) {
    try {
      const file = await downloadFile({
        ...params.session.client,
        repo: { type: params.repo.type, name: params.repo.id },
        path: entry.path,
        revision: params.commit,
        xet: speaksXet(endpoint),
      });
      if (!file)
        throw hubSentInvalid(endpoint, params.repo.id, `answer for ${entry.path}, which it listed`, "not found");
      const sha256 = createHash("sha256");
      const gitSha1 = gitBlobHash(entry.size);
      let bytes = 0;
      const count = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          if (bytes > entry.size) return callback(new ContentMismatch(`more than the ${entry.size} bytes listed`));
          sha256.update(chunk);
          gitSha1.update(chunk);
          onBytes(bytes);
          callback(null, chunk);
        },
      });
      await pipeline(
        Readable.fromWeb(file.stream() as WebReadableStream<Uint8Array>),
        count,
        createWriteStream(incomplete),
      );
      if (bytes !== entry.size) throw new ContentMismatch(`${bytes} bytes, not the ${entry.size} listed`);
      if (entry.sha256 ? sha256.digest("hex") !== entry.sha256 : gitSha1.digest("hex") !== entry.gitOid)
        throw new ContentMismatch(
          entry.sha256 ? "bytes whose sha256 is not the listed one" : "bytes whose git blob sha1 is not the listed one",
        );
      renameSync(incomplete, blob);
      return;
    } catch (error) {
      rmSync(incomplete, { force: true });
      if (error instanceof TuneError || (error as { statusCode?: number }).statusCode !== undefined) throw error;
      if (attempt >= FILE_ATTEMPTS) {
        if (!(error instanceof ContentMismatch)) throw error;
        throw TuneError.single(
          {
            code: "hub-content-mismatch",
            message: `the Hub at ${endpoint} sent different bytes for ${params.repo.id}/${entry.path} than it listed (${error.message}), ${FILE_ATTEMPTS} times; nothing was cached`,
            hint: "Run again later; if it repeats, the Hub, a mirror or a proxy is altering files: check HF_ENDPOINT and the network.",
          },
          ExitCode.environment,
        );
      }
    }
  }
}
