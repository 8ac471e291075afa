import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import { Readable, Transform } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { pipeline } from "node:stream/promises";
import { downloadFile, listFiles, modelInfo, type ListFileEntry } from "@huggingface/hub";
import { ExitCode, TuneError } from "../errors/index.js";
import { blobPath, cachedSnapshot, linkSnapshotFile, snapshotFolder, writeRef } from "./hub-cache.js";
import { hubCacheDir, hubEndpoint, hubOffline, readHubToken, speaksXet } from "./hub-environment.js";
import { hubFailure, type HubContext } from "./hub-failure.js";
import { retryingFetch, type RetryOptions } from "./retrying-fetch.js";

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

/**
 * The files a fine-tune needs from a model repo's top level: config, tokenizer and the
 * safetensors weights; never the pickled copies most repos also carry, nor `original/` folders.
 */
export function neededFiles(entries: readonly ListFileEntry[], id: string): ListFileEntry[] {
  const files = entries.filter((e) => e.type === "file" && !e.path.includes("/"));
  const needed = files.filter((e) => NEEDED.some((pattern) => pattern.test(e.path)));
  if (!needed.some((e) => e.path.endsWith(".safetensors"))) {
    const pickles = files.filter((e) => PICKLES.test(e.path)).map((e) => e.path);
    throw TuneError.single(
      {
        code: pickles.length > 0 ? "weights-pickle-only" : "weights-missing",
        message: pickles.length > 0 ? `${id} has only pickle weights (${pickles.join(", ")}), which tune refuses to load: unpickling runs code from the file` : `${id} has no model.safetensors or model.safetensors.index.json`,
        hint: "Use a repo with safetensors weights (most have a safetensors revision or a converted copy), or convert once where you trust the file and point model.base at the folder.",
      },
      ExitCode.user,
    );
  }
  return needed;
}

/**
 * Resolves a Hub model into the shared Hugging Face cache (blobs, snapshots/<commit>, refs)
 * so Python tools find the same files offline: the revision is resolved to a commit first,
 * only the needed files are fetched, each checked against its size (and sha256 for LFS files)
 * before it is moved into place. With HF_HUB_OFFLINE=1, or when the Hub cannot be reached and
 * an earlier download exists, the cache alone answers.
 */
export async function downloadModel(id: string, revision: string, options: DownloadOptions = {}): Promise<DownloadedModel> {
  const cacheDir = hubCacheDir();
  const cached = () => cachedSnapshot(cacheDir, id, revision);
  if (hubOffline()) {
    const dir = cached();
    if (dir) return { dir, commit: basename(dir), fetched: [] };
    throw TuneError.single({ code: "model-not-cached", message: `${id} (revision ${revision}) is not in the Hugging Face cache at ${cacheDir}, and HF_HUB_OFFLINE=1 forbids downloading it`, hint: "Run once without HF_HUB_OFFLINE (or on a machine with access, then copy the cache), or point model.base at a local folder." }, ExitCode.environment);
  }
  const endpoint = hubEndpoint();
  const token = readHubToken();
  const context: HubContext = { endpoint, repo: id, revision, token, action: "download" };
  const common = { hubUrl: endpoint, accessToken: token?.value, fetch: retryingFetch(options) };

  let commit: string;
  let entries: ListFileEntry[];
  try {
    commit = (await modelInfo({ ...common, name: id, revision, additionalFields: ["sha"] })).sha as string;
    entries = [];
    for await (const entry of listFiles({ ...common, repo: id, revision: commit })) entries.push(entry);
  } catch (error) {
    const failure = hubFailure(error, context);
    const dir = cached();
    if (dir && failure.problems[0]?.code === "hub-unreachable") return { dir, commit: basename(dir), fetched: [], offlineReason: failure.problems[0].message };
    throw failure;
  }

  const needed = neededFiles(entries, id);
  const total = needed.reduce((sum, e) => sum + e.size, 0);
  let done = 0;
  const fetched: string[] = [];
  for (const entry of needed) {
    const etag = entry.lfs?.oid ?? entry.oid;
    if (!etag) throw new Error(`the Hub listed ${entry.path} without an oid`);
    const blob = blobPath(cacheDir, id, etag);
    if (!existsSync(blob) || statSync(blob).size !== entry.size) {
      try {
        await fetchBlob(entry, blob, { ...common, id, commit, xet: speaksXet(endpoint) }, (bytes) => options.onProgress?.({ file: entry.path, done: done + bytes, total }));
      } catch (error) {
        throw error instanceof TuneError ? error : hubFailure(error, context);
      }
      fetched.push(entry.path);
    }
    done += entry.size;
    options.onProgress?.({ file: entry.path, done, total });
    linkSnapshotFile(cacheDir, id, commit, entry.path, etag);
  }
  writeRef(cacheDir, id, revision, commit);
  return { dir: snapshotFolder(cacheDir, id, commit), commit, fetched };
}

interface FetchParams {
  id: string;
  commit: string;
  hubUrl: string;
  accessToken: string | undefined;
  fetch: typeof fetch;
  xet: boolean;
}

/**
 * Streams one file into `<blob>.incomplete`, checks it, and renames it into place. A connection
 * dropped mid-file starts that file again (a few times) rather than failing the download.
 */
async function fetchBlob(entry: ListFileEntry, blob: string, params: FetchParams, onBytes: (bytes: number) => void): Promise<void> {
  mkdirSync(dirname(blob), { recursive: true });
  const incomplete = `${blob}.incomplete`;
  for (let attempt = 1; ; attempt++) {
    try {
      const file = await downloadFile({ repo: params.id, path: entry.path, revision: params.commit, hubUrl: params.hubUrl, accessToken: params.accessToken, fetch: params.fetch, xet: params.xet });
      if (!file) throw new Error(`${entry.path} vanished from ${params.id}@${params.commit}`);
      const sha256 = createHash("sha256");
      let bytes = 0;
      const count = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          sha256.update(chunk);
          onBytes(bytes);
          callback(null, chunk);
        },
      });
      await pipeline(Readable.fromWeb(file.stream() as WebReadableStream<Uint8Array>), count, createWriteStream(incomplete));
      if (bytes !== entry.size) throw new Error(`${entry.path}: received ${bytes} bytes, expected ${entry.size}`);
      if (entry.lfs && sha256.digest("hex") !== entry.lfs.oid) throw new Error(`${entry.path}: sha256 does not match the Hub's`);
      renameSync(incomplete, blob);
      return;
    } catch (error) {
      rmSync(incomplete, { force: true });
      if (attempt >= FILE_ATTEMPTS || (error as { statusCode?: number }).statusCode !== undefined) throw error;
    }
  }
}
