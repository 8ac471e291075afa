import { createHash } from "node:crypto";
import { createReadStream, openAsBlob, statSync } from "node:fs";
import { commitIter, createBranch, createRepo, HubApiError, listFiles, modelInfo, whoAmI, type CommitOperation } from "@huggingface/hub";
import { ExitCode, TuneError } from "../errors/index.js";
import { hubEndpoint, readHubToken, speaksXet } from "./hub-environment.js";
import { hubFailure, type HubContext } from "./hub-failure.js";
import { retryingFetch, type RetryOptions } from "./retrying-fetch.js";

/** One file of a push: a file on disk, or bytes made for the push (the model card). */
export type PushFile = { path: string; source: string } | { path: string; content: Uint8Array };

export interface PushOptions extends RetryOptions {
  repo: string;
  files: readonly PushFile[];
  /** Branch; created from main when missing. */
  revision?: string;
  private?: boolean;
  title: string;
  dryRun?: boolean;
  onProgress?: (progress: { file: string; done: number; total: number }) => void;
}

export interface PushResult {
  repo: string;
  revision: string;
  url: string;
  /** The new commit, or null when nothing changed (or a dry run). */
  commit: string | null;
  /** The branch head before the push (null for a repo that did not exist). */
  previous: string | null;
  created: boolean;
  uploaded: string[];
  unchanged: string[];
}

interface Hashes {
  sha256: string;
  gitSha1: string;
  size: number;
}

/** sha256 (what LFS files are named by) and the git blob sha1 (what regular files are named by), in one pass. */
async function hashes(file: PushFile): Promise<Hashes> {
  const sha256 = createHash("sha256");
  const size = "source" in file ? statSync(file.source).size : file.content.byteLength;
  const gitSha1 = createHash("sha1").update(`blob ${size}\0`);
  if ("source" in file) {
    for await (const chunk of createReadStream(file.source)) {
      sha256.update(chunk as Buffer);
      gitSha1.update(chunk as Buffer);
    }
  } else {
    sha256.update(file.content);
    gitSha1.update(file.content);
  }
  return { sha256: sha256.digest("hex"), gitSha1: gitSha1.digest("hex"), size };
}

/**
 * Publishes files to a Hub model repo in one commit: creates the repo (and branch) when missing,
 * compares every file with the branch head by content hash and uploads only what differs, so
 * pushing the same files again makes no commit. The commit names the head it was computed
 * against: a Hub commit is atomic, so a push that fails at any point leaves the branch as it was.
 */
export async function pushFiles(options: PushOptions): Promise<PushResult> {
  const endpoint = hubEndpoint();
  const token = readHubToken();
  const revision = options.revision ?? "main";
  const context: HubContext = { endpoint, repo: options.repo, revision, token, action: "push" };
  if (!token) {
    throw TuneError.single({ code: "hub-token-missing", message: `pushing to ${options.repo} needs a Hugging Face token with write access`, hint: "Set HF_TOKEN, or run `huggingface-cli login` (tune reads the token file it writes)." }, ExitCode.environment);
  }
  const common = { hubUrl: endpoint, accessToken: token.value, fetch: retryingFetch(options) };
  const repo = { type: "model" as const, name: options.repo };
  const url = `${endpoint}/${options.repo}${revision === "main" ? "" : `/tree/${revision}`}`;

  let created = false;
  let previous: string | null = null;
  const remote = new Map<string, { oid?: string; lfs?: string }>();
  try {
    await whoAmI(common);
    previous = await head(options.repo, revision, common);
    if (previous === null && !options.dryRun) {
      const exists = (await head(options.repo, "main", common)) !== null;
      if (!exists) {
        await createRepo({ ...common, repo, private: options.private ?? true });
        created = true;
      }
      if (revision !== "main") await createBranch({ ...common, repo, branch: revision });
      previous = await head(options.repo, revision, common);
    }
    if (previous !== null) {
      for await (const entry of listFiles({ ...common, repo, revision: previous, recursive: true })) {
        if (entry.type === "file") remote.set(entry.path, { oid: entry.oid, lfs: entry.lfs?.oid });
      }
    }
  } catch (error) {
    throw hubFailure(error, context);
  }

  const changed: PushFile[] = [];
  const unchanged: string[] = [];
  for (const file of options.files) {
    const local = await hashes(file);
    const there = remote.get(file.path);
    if (there && (there.lfs === local.sha256 || there.oid === local.gitSha1)) unchanged.push(file.path);
    else changed.push(file);
  }
  const result = { repo: options.repo, revision, url, previous, created, uploaded: changed.map((f) => f.path), unchanged };
  if (options.dryRun || changed.length === 0) return { ...result, commit: null };

  const operations: CommitOperation[] = await Promise.all(changed.map(async (file) => ({ operation: "addOrUpdate" as const, path: file.path, content: "source" in file ? await openAsBlob(file.source) : new Blob([file.content]) })));
  const sizes = new Map(operations.map((op) => [op.path, op.operation === "addOrUpdate" ? (op.content as Blob).size : 0]));
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const fraction = new Map<string, number>();
  try {
    const commits = commitIter({ ...common, repo, operations, title: options.title, branch: revision, parentCommit: previous ?? undefined, useXet: speaksXet(endpoint) });
    for (;;) {
      const next = await commits.next();
      if (next.done) {
        return { ...result, commit: next.value?.commit.oid ?? null };
      }
      const event = next.value;
      if (event.event === "fileProgress" && event.state === "uploading") {
        fraction.set(event.path, event.progress);
        const done = [...fraction.entries()].reduce((sum, [path, f]) => sum + f * (sizes.get(path) ?? 0), 0);
        options.onProgress?.({ file: event.path, done, total });
      }
    }
  } catch (error) {
    const failure = hubFailure(error, context);
    const problem = failure.problems[0];
    if (error instanceof HubApiError && error.statusCode === 412) {
      throw TuneError.single({ code: "hub-push-conflict", message: `someone else committed to ${options.repo}@${revision} while this push ran; nothing was committed`, hint: "Run the same command again: it compares against the new head." }, ExitCode.environment);
    }
    throw TuneError.single({ ...problem, code: problem?.code ?? "hub-error", message: `${problem?.message ?? "the push failed"}; ${options.repo}@${revision} is unchanged${previous ? ` (still at ${previous.slice(0, 12)})` : ""}`, hint: `${problem?.hint ?? ""} Running the same command again resumes: files the Hub already stores are not uploaded twice.`.trim() }, failure.exitCode);
  }
}

/** The commit a branch points at, or null when the repo or the branch does not exist. */
async function head(id: string, revision: string, common: { hubUrl: string; accessToken: string; fetch: typeof fetch }): Promise<string | null> {
  try {
    return (await modelInfo({ ...common, name: id, revision, additionalFields: ["sha"] })).sha as string;
  } catch (error) {
    if (error instanceof HubApiError && error.statusCode === 404) return null;
    throw error;
  }
}
