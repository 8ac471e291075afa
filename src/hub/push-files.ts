import { createHash } from "node:crypto";
import { createReadStream, openAsBlob, statSync } from "node:fs";
import {
  commitIter,
  createBranch,
  createRepo,
  HubApiError,
  listFiles,
  modelInfo,
  whoAmI,
  type CommitOperation,
} from "@huggingface/hub";
import { ExitCode, TuneError } from "../errors/index.js";
import { speaksXet } from "./hub-environment.js";
import { hubFailure, type HubContext } from "./hub-failure.js";
import { gitBlobHash, hubReplyChecker, type HubReplyChecker } from "./hub-names.js";
import { openHubSession, type HubSession } from "./hub-session.js";
import type { RetryOptions } from "./retrying-fetch.js";

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
  /** Set when the Hub's answer to the commit was lost and the branch was read back to learn that it landed. */
  confirmedAfter?: string;
}

interface Hashes {
  sha256: string;
  gitSha1: string;
  size: number;
}

type Common = HubSession["client"] & { accessToken: string };

type RemoteFiles = Map<string, { oid?: string; lfs?: string }>;

/** sha256 (what LFS files are named by) and the git blob sha1 (what regular files are named by), in one pass. */
async function hashes(file: PushFile): Promise<Hashes> {
  const sha256 = createHash("sha256");
  const size = "source" in file ? statSync(file.source).size : file.content.byteLength;
  const gitSha1 = gitBlobHash(size);
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

function sameContent(there: { oid?: string; lfs?: string } | undefined, local: Hashes): boolean {
  return there !== undefined && (there.lfs === local.sha256 || there.oid === local.gitSha1);
}

/**
 * Publishes files to a Hub model repo in one commit: creates the repo (and branch) when missing,
 * compares every file with the branch head by content hash and uploads only what differs, so
 * pushing the same files again makes no commit. The commit names the head it was computed
 * against: a Hub commit is atomic, so a push that fails leaves the branch as it was. When the
 * commit's answer is lost (an error after the Hub may have applied it), the branch is read back
 * before anything is reported, and the report says what the branch now holds.
 */
export async function pushFiles(options: PushOptions): Promise<PushResult> {
  const session = openHubSession(options);
  const { endpoint, token } = session;
  const revision = options.revision ?? "main";
  const context: HubContext = { endpoint, repo: options.repo, revision, token, action: "push" };
  if (!token) {
    throw TuneError.single(
      {
        code: "hub-token-missing",
        message: `pushing to ${options.repo} needs a Hugging Face token with write access`,
        hint: "Set HF_TOKEN, or run `huggingface-cli login` (tune reads the token file it writes).",
      },
      ExitCode.environment,
    );
  }
  const common: Common = { ...session.client, accessToken: session.client.accessToken as string };
  const check = hubReplyChecker(endpoint, options.repo);
  const repo = { type: "model" as const, name: options.repo };
  const url = `${endpoint}/${options.repo}${revision === "main" ? "" : `/tree/${revision}`}`;

  let created = false;
  let previous: string | null = null;
  let remote: RemoteFiles = new Map();
  try {
    await whoAmI(common);
    previous = await head(options.repo, revision, common, check);
    if (previous === null && !options.dryRun) {
      const exists = (await head(options.repo, "main", common, check)) !== null;
      if (!exists) {
        await createRepo({ ...common, repo, private: options.private ?? true });
        created = true;
      }
      if (revision !== "main") await createBranch({ ...common, repo, branch: revision });
      previous = await head(options.repo, revision, common, check);
    }
    if (previous !== null) remote = await remoteFiles(options.repo, previous, common);
  } catch (error) {
    throw hubFailure(error, context);
  }

  const local = new Map<string, Hashes>();
  for (const file of options.files) local.set(file.path, await hashes(file));
  const changed = options.files.filter((file) => !sameContent(remote.get(file.path), local.get(file.path) as Hashes));
  const unchanged = options.files.filter((file) => !changed.includes(file)).map((file) => file.path);
  const result = {
    repo: options.repo,
    revision,
    url,
    previous,
    created,
    uploaded: changed.map((f) => f.path),
    unchanged,
  };
  if (options.dryRun || changed.length === 0) return { ...result, commit: null };

  const operations: CommitOperation[] = await Promise.all(
    changed.map(async (file) => ({
      operation: "addOrUpdate" as const,
      path: file.path,
      content: "source" in file ? await openAsBlob(file.source) : new Blob([file.content]),
    })),
  );
  const sizes = new Map(
    operations.map((op) => [op.path, op.operation === "addOrUpdate" ? (op.content as Blob).size : 0]),
  );
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const fraction = new Map<string, number>();
  try {
    const commits = commitIter({
      ...common,
      repo,
      operations,
      title: options.title,
      branch: revision,
      parentCommit: previous ?? undefined,
      useXet: speaksXet(endpoint),
    });
    for (;;) {
      const next = await commits.next();
      if (next.done) return { ...result, commit: check.commit(next.value?.commit.oid, "commit id of the new commit") };
      const event = next.value;
      if (event.event === "fileProgress" && event.state === "uploading") {
        fraction.set(event.path, event.progress);
        const done = [...fraction.entries()].reduce((sum, [path, f]) => sum + f * (sizes.get(path) ?? 0), 0);
        options.onProgress?.({ file: event.path, done, total });
      }
    }
  } catch (error) {
    const landed = await readBack(options.repo, revision, previous, local, common, check);
    if (landed.kind === "landed")
      return {
        ...result,
        commit: landed.head,
        confirmedAfter: hubFailure(error, context).problems[0]?.message ?? "an error",
      };
    throw pushFailure(error, context, previous, landed);
  }
}

type ReadBack =
  | { kind: "landed"; head: string }
  | { kind: "unchanged" }
  | { kind: "moved"; head: string }
  | { kind: "unknown"; why: string };

/**
 * After a failed commit, what the branch holds now: still the old head (nothing was committed),
 * a new head whose files are exactly the ones sent (the commit landed and only its answer was
 * lost), another new head (someone else committed), or unknown when it cannot be read.
 */
async function readBack(
  id: string,
  revision: string,
  previous: string | null,
  sent: Map<string, Hashes>,
  common: Common,
  check: HubReplyChecker,
): Promise<ReadBack> {
  try {
    const now = await head(id, revision, common, check);
    if (now === previous || now === null) return { kind: "unchanged" };
    const files = await remoteFiles(id, now, common);
    const all = [...sent.entries()].every(([path, hash]) => sameContent(files.get(path), hash));
    return all ? { kind: "landed", head: now } : { kind: "moved", head: now };
  } catch (error) {
    return {
      kind: "unknown",
      why:
        hubFailure(error, { endpoint: common.hubUrl, repo: id, revision, token: undefined, action: "push" }).problems[0]
          ?.message ?? "it could not be read",
    };
  }
}

/** The failed push, said as what the branch now holds. */
function pushFailure(
  error: unknown,
  context: HubContext,
  previous: string | null,
  landed: Exclude<ReadBack, { kind: "landed" }>,
): TuneError {
  const failure = hubFailure(error, context);
  const problem = failure.problems[0];
  const target = `${context.repo}@${context.revision}`;
  const rerun =
    "Running the same command again resumes: it compares with the branch by content, and files the Hub already stores are not uploaded twice.";
  if (landed.kind === "moved") {
    return TuneError.single(
      {
        code: "hub-push-conflict",
        message: `someone else committed to ${target} while this push ran (it is now at ${landed.head.slice(0, 12)}); this push was not committed`,
        hint: `Run the same command again: it compares against the new head. (${problem?.message ?? "the commit failed"})`,
      },
      ExitCode.environment,
    );
  }
  if (landed.kind === "unknown") {
    return TuneError.single(
      {
        code: problem?.code ?? "hub-error",
        message: `${problem?.message ?? "the push failed"}; whether ${target} holds this push is unknown: reading the branch back failed too (${landed.why})`,
        hint: rerun,
      },
      failure.exitCode,
    );
  }
  return TuneError.single(
    {
      code: problem?.code ?? "hub-error",
      message: `${problem?.message ?? "the push failed"}; ${target} is unchanged${previous ? ` (still at ${previous.slice(0, 12)})` : ""}`,
      hint: `${problem?.hint ?? ""} ${rerun}`.trim(),
    },
    failure.exitCode,
  );
}

/** Every file of a commit with its git oid and LFS sha256, as the Hub lists them (paths are only compared, never joined). */
async function remoteFiles(id: string, commit: string, common: Common): Promise<RemoteFiles> {
  const files: RemoteFiles = new Map();
  for await (const entry of listFiles({
    ...common,
    repo: { type: "model", name: id },
    revision: commit,
    recursive: true,
  })) {
    if (entry.type === "file") files.set(entry.path, { oid: entry.oid, lfs: entry.lfs?.oid });
  }
  return files;
}

/** The commit a branch points at, or null when the repo or the branch does not exist. */
async function head(id: string, revision: string, common: Common, check: HubReplyChecker): Promise<string | null> {
  try {
    return check.commit(
      (await modelInfo({ ...common, name: id, revision, additionalFields: ["sha"] })).sha,
      `commit id of ${revision}`,
    );
  } catch (error) {
    if (error instanceof HubApiError && error.statusCode === 404) return null;
    throw error;
  }
}
