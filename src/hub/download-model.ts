import { createHash } from "node:crypto";
import { closeSync, createWriteStream, openSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { Readable, Transform } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { pipeline } from "node:stream/promises";
import { downloadFile, listFiles, modelInfo, type ListFileEntry } from "@huggingface/hub";
import { ExitCode, TuneError } from "../errors/index.js";
import { hubIdProblem, revisionProblem } from "../recipe/index.js";
import { blobPath, cachedSnapshot, linkSnapshotFile, snapshotFolder, writeRef } from "./hub-cache.js";
import { hubCacheDir, hubOffline, speaksXet } from "./hub-environment.js";
import { hubFailure, type HubContext } from "./hub-failure.js";
import { gitBlobHash, hubReplyChecker, hubSentInvalid, type ListedFile } from "./hub-names.js";
import { openHubSession, type HubSession } from "./hub-session.js";
import type { RetryOptions } from "./retrying-fetch.js";
import { makeFolders } from "../files/index.js";

export interface DownloadProgress {
  file: string;
  /** Bytes of all needed files that are on disk now, and in total. */
  done: number;
  total: number;
}

export interface DownloadOptions extends RetryOptions {
  onProgress?: (progress: DownloadProgress) => void;
}

export interface DownloadedModel {
  dir: string;
  commit: string;
  /** Files fetched now (the rest were in the cache already). */
  fetched: string[];
  /** Set when the Hub could not be reached and an earlier download was used. */
  offlineReason?: string;
}

const NEEDED = [
  /^(config|generation_config|tokenizer|tokenizer_config|special_tokens_map|added_tokens|chat_template)\.(json|jinja)$/,
  /^(vocab\.(json|txt)|merges\.txt|tokenizer\.model|spiece\.model|sentencepiece\.bpe\.model)$/,
  /^model(-\d{5}-of-\d{5})?\.safetensors$/,
  /^model\.safetensors\.index\.json$/,
];
const PICKLES = /\.(bin|pt|pth|ckpt)$/;
const FILE_ATTEMPTS = 3;
/** More top-level entries than any model repo has: a listing that goes on is refused, not followed forever. */
const MAX_ENTRIES = 100_000;

/**
 * The files a fine-tune needs from a model repo's top level: config, tokenizer and the
 * safetensors weights; never the pickled copies most repos also carry, nor `original/` folders.
 */
export function neededFiles(entries: readonly ListFileEntry[], id: string): ListFileEntry[] {
  const files = entries.filter((e) => e.type === "file" && !e.path.includes("/"));
  const needed = files.filter((e) => NEEDED.some((pattern) => pattern.test(e.path)));
  if (!needed.some((e) => e.path === "config.json")) {
    throw TuneError.single(
      {
        code: "model-config-missing",
        message: `${id} has no config.json at its top level, so it is not a transformers model repo`,
        hint: "Check the repo id (a model is `owner/name`; adapters and datasets are not base models).",
      },
      ExitCode.user,
    );
  }
  if (!needed.some((e) => e.path.endsWith(".safetensors"))) {
    const pickles = files.filter((e) => PICKLES.test(e.path)).map((e) => e.path);
    throw TuneError.single(
      {
        code: pickles.length > 0 ? "weights-pickle-only" : "weights-missing",
        message:
          pickles.length > 0
            ? `${id} has only pickle weights (${pickles.join(", ")}), which tune refuses to load: unpickling runs code from the file`
            : `${id} has no model.safetensors or model.safetensors.index.json`,
        hint: "Use a repo with safetensors weights (most have a safetensors revision or a converted copy), or convert once where you trust the file and point model.base at the folder.",
      },
      ExitCode.user,
    );
  }
  return needed;
}

/** The id and revision name cache folders; anything but a real Hub id and revision is refused before one is made. */
function refuseUnsafeNames(id: string, revision: string): void {
  const why = hubIdProblem(id) ?? revisionProblem(revision);
  if (why)
    throw TuneError.single(
      {
        code: "hub-id-invalid",
        message: `cannot download ${JSON.stringify(id)} at revision ${JSON.stringify(revision)}: ${why}`,
        hint: "Check model.base and model.revision (or --base).",
      },
      ExitCode.user,
    );
}

/**
 * Resolves a Hub model into the shared Hugging Face cache (blobs, snapshots/<commit>, refs)
 * so Python tools find the same files offline: the revision is resolved to a commit first,
 * only the needed files are fetched, each checked against the listing by content (git blob
 * sha1 for regular files, sha256 for LFS files) before it is moved into place. Every name the
 * Hub sends is checked before it becomes a path. With HF_HUB_OFFLINE=1, or when the Hub cannot
 * be reached and an earlier download exists, the cache alone answers.
 */
export async function downloadModel(
  id: string,
  revision: string,
  options: DownloadOptions = {},
): Promise<DownloadedModel> {
  refuseUnsafeNames(id, revision);
  const cacheDir = hubCacheDir();
  const cached = () => cachedSnapshot(cacheDir, id, revision);
  if (hubOffline()) {
    const found = cached();
    if (found) return { ...found, fetched: [] };
    throw TuneError.single(
      {
        code: "model-not-cached",
        message: `${id} (revision ${revision}) is not in the Hugging Face cache at ${cacheDir}, and HF_HUB_OFFLINE=1 forbids downloading it`,
        hint: "Run once without HF_HUB_OFFLINE (or on a machine with access, then copy the cache), or point model.base at a local folder.",
      },
      ExitCode.environment,
    );
  }
  const session = openHubSession(options);
  const context: HubContext = {
    endpoint: session.endpoint,
    repo: id,
    revision,
    token: session.token,
    action: "download",
  };
  const check = hubReplyChecker(session.endpoint, id);
  const common = session.client;

  let commit: string;
  let entries: ListFileEntry[];
  try {
    commit = check.commit(
      (await modelInfo({ ...common, name: id, revision, additionalFields: ["sha"] })).sha,
      `commit id for revision ${revision}`,
    );
    entries = [];
    for await (const entry of listFiles({ ...common, repo: id, revision: commit })) {
      if (entries.length >= MAX_ENTRIES)
        throw hubSentInvalid(session.endpoint, id, "file listing (it does not end)", `${MAX_ENTRIES}+ entries`);
      entries.push(entry);
    }
  } catch (error) {
    const failure = hubFailure(error, context);
    const found = cached();
    if (found && failure.problems[0]?.code === "hub-unreachable")
      return { ...found, fetched: [], offlineReason: failure.problems[0].message };
    throw failure;
  }

  const listed = new Map(entries.map((entry) => [entry, check.entry(entry)]));
  const needed = neededFiles(entries, id).map((entry) => listed.get(entry) as ListedFile);
  const total = needed.reduce((sum, e) => sum + e.size, 0);
  let done = 0;
  const fetched: string[] = [];
  for (const entry of needed) {
    const blob = blobPath(cacheDir, id, entry.etag);
    if (!cachedBlobMatches(blob, entry)) {
      try {
        await fetchBlob(entry, blob, { session, id, commit }, (bytes) =>
          options.onProgress?.({ file: entry.path, done: done + bytes, total }),
        );
      } catch (error) {
        throw hubFailure(error, context);
      }
      fetched.push(entry.path);
    }
    done += entry.size;
    options.onProgress?.({ file: entry.path, done, total });
    linkSnapshotFile(cacheDir, id, commit, entry.path, entry.etag);
  }
  writeRef(cacheDir, id, revision, commit);
  return { dir: snapshotFolder(cacheDir, id, commit), commit, fetched };
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
  id: string;
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
        repo: params.id,
        path: entry.path,
        revision: params.commit,
        xet: speaksXet(endpoint),
      });
      if (!file) throw hubSentInvalid(endpoint, params.id, `answer for ${entry.path}, which it listed`, "not found");
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
            message: `the Hub at ${endpoint} sent different bytes for ${params.id}/${entry.path} than it listed (${error.message}), ${FILE_ATTEMPTS} times; nothing was cached`,
            hint: "Run again later; if it repeats, the Hub, a mirror or a proxy is altering files: check HF_ENDPOINT and the network.",
          },
          ExitCode.environment,
        );
      }
    }
  }
}
