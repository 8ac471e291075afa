import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A Hugging Face Hub on 127.0.0.1 speaking the HTTP API @huggingface/hub uses, with plain Git
 * LFS storage (no Xet): whoami, repo create, model and dataset info, tree listing (paginated,
 * recursive with folder entries, as the Hub lists them), preupload,
 * LFS batch + PUT, NDJSON commits (atomic: all operations or none), branches and resolve with
 * range requests. Dataset repos live under `/api/datasets/<id>/…` and `/datasets/<id>/resolve/…`,
 * in a namespace of their own. Tokens, private and gated repos behave as on the Hub, and faults (HTTP 500,
 * 429, dropped connections, a commit applied whose answer is lost) can be injected per route.
 * LFS uploads go to a second origin, as the Hub's go to storage elsewhere. `intercept` answers
 * any request in place of the Hub, which is how tests play a hostile or broken server.
 */

interface StoredFile {
  bytes: Buffer;
  lfs: boolean;
}

interface Commit {
  oid: string;
  title: string;
  files: Map<string, StoredFile>;
}

export interface FakeRepo {
  id: string;
  type: "model" | "dataset";
  private: boolean;
  gated: boolean;
  /** Users allowed into a gated repo. */
  approved: Set<string>;
  commits: Commit[];
  branches: Map<string, string>;
}

export interface Fault {
  /** Matched against "METHOD /path". */
  route: RegExp;
  /**
   * "truncate" sends the headers and half of a download's body, then cuts the connection;
   * "apply-then-500" handles the request (a commit lands) and answers 500 instead.
   */
  kind: "500" | "429" | "drop" | "truncate" | "apply-then-500";
  times: number;
}

export interface RequestRecord {
  method: string;
  /** The server's origin: the Hub's (`url`) or storage's (`storageUrl`). */
  origin: string;
  path: string;
  authorization: string | undefined;
  status: number;
}

export interface InterceptedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

/** What a test's server says instead of the Hub: a status, headers and a body (JSON when not bytes or text). */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export interface FakeHub {
  url: string;
  /** Where LFS uploads go: another origin, as the Hub's storage is. */
  storageUrl: string;
  /** Answers a request in place of the Hub when it returns a reply (after faults, before the Hub's own routes). */
  intercept: ((request: InterceptedRequest) => Reply | undefined) | undefined;
  /** By id; dataset repos by `datasets/<id>`. */
  repos: Map<string, FakeRepo>;
  /** token → user name. */
  tokens: Map<string, string>;
  faults: Fault[];
  requests: RequestRecord[];
  /** Creates a repo with one commit holding these files (safetensors and large files as LFS). */
  addRepo(
    id: string,
    files: Record<string, Buffer | string>,
    options?: { private?: boolean; gated?: boolean; type?: "model" | "dataset" },
  ): FakeRepo;
  /** Commits these files on top of a branch's head (a dataset or model that moves on). */
  commitFiles(key: string, files: Record<string, Buffer | string>, branch?: string): string;
  /** The files of a branch's head commit. */
  head(id: string, branch?: string): Map<string, StoredFile>;
  close(): Promise<void>;
}

const LFS_SIZE = 10 * 1024 * 1024;
const TREE_PAGE = 3;

export function gitBlobSha(bytes: Buffer): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

export function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function isLfsPath(path: string, size: number): boolean {
  return /\.(safetensors|bin|pt|pth|gguf|parquet)$/.test(path) || size >= LFS_SIZE;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startFakeHub(): Promise<FakeHub> {
  const repos = new Map<string, FakeRepo>();
  const tokens = new Map<string, string>();
  const lfs = new Map<string, Buffer>();
  const faults: Fault[] = [];
  const requests: RequestRecord[] = [];
  let url = "";
  let storageUrl = "";
  const hub = { intercept: undefined as FakeHub["intercept"] };

  const newCommit = (title: string, files: Map<string, StoredFile>): Commit => ({
    oid: randomBytes(20).toString("hex"),
    title,
    files,
  });

  const store = (stored: Map<string, StoredFile>, files: Record<string, Buffer | string>) => {
    for (const [path, content] of Object.entries(files)) {
      const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
      const isLfs = isLfsPath(path, bytes.length);
      if (isLfs) lfs.set(sha256(bytes), bytes);
      stored.set(path, { bytes, lfs: isLfs });
    }
    return stored;
  };

  const addRepo: FakeHub["addRepo"] = (id, files, options = {}) => {
    const stored = store(
      new Map([
        [".gitattributes", { bytes: Buffer.from("*.safetensors filter=lfs diff=lfs merge=lfs -text\n"), lfs: false }],
      ]),
      files,
    );
    const commit = newCommit("initial commit", stored);
    const type = options.type ?? "model";
    const repo: FakeRepo = {
      id,
      type,
      private: options.private ?? false,
      gated: options.gated ?? false,
      approved: new Set(),
      commits: [commit],
      branches: new Map([["main", commit.oid]]),
    };
    repos.set(type === "dataset" ? `datasets/${id}` : id, repo);
    return repo;
  };

  const commitOf = (repo: FakeRepo, revision: string): Commit | undefined => {
    const oid = repo.branches.get(revision) ?? revision;
    return repo.commits.find((c) => c.oid === oid);
  };

  const serve = (origin: () => string) => (request: IncomingMessage, response: ServerResponse) => {
    void readBody(request)
      .then((body) => handle(request, body, response, origin()))
      .catch((error: unknown) => {
        if (!response.headersSent) json(response, 500, { error: String(error) });
      });
  };
  const server = createServer(serve(() => url));
  const storage = createServer(serve(() => storageUrl));

  function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    response.writeHead(status, { "Content-Type": "application/json", ...headers });
    response.end(JSON.stringify(body));
  }

  async function handle(
    request: IncomingMessage,
    body: Buffer,
    response: ServerResponse,
    origin: string,
  ): Promise<void> {
    const method = request.method ?? "GET";
    const parsed = new URL(request.url ?? "/", origin);
    const path = decodeURIComponent(parsed.pathname);
    const record: RequestRecord = { method, origin, path, authorization: request.headers.authorization, status: 0 };
    requests.push(record);
    response.on("finish", () => (record.status = response.statusCode));

    const fault = faults.find((f) => f.times > 0 && f.route.test(`${method} ${path}`));
    if (fault) fault.times--;
    const truncate = fault?.kind === "truncate";
    if (fault?.kind === "apply-then-500") {
      const swallowed: ServerResponse = Object.assign(Object.create(response) as ServerResponse, {
        writeHead: () => swallowed,
        end: () => swallowed,
        write: () => true,
      });
      await handle(request, body, swallowed, origin);
      json(response, 500, { error: "Internal Error" });
      return;
    }
    if (fault && !truncate) {
      if (fault.kind === "drop") {
        request.socket.destroy();
        return;
      }
      json(
        response,
        Number(fault.kind),
        { error: fault.kind === "429" ? "Too many requests" : "Internal Error" },
        fault.kind === "429" ? { "Retry-After": "0" } : {},
      );
      return;
    }

    if (hub.intercept) {
      const reply = hub.intercept({ method, path, headers: request.headers, body });
      if (reply) {
        const bytes = Buffer.isBuffer(reply.body)
          ? reply.body
          : typeof reply.body === "string"
            ? Buffer.from(reply.body)
            : Buffer.from(JSON.stringify(reply.body));
        const type = Buffer.isBuffer(reply.body)
          ? "application/octet-stream"
          : typeof reply.body === "string"
            ? "text/plain"
            : "application/json";
        response.writeHead(reply.status, {
          "Content-Type": type,
          "Content-Length": String(bytes.length),
          ...reply.headers,
        });
        response.end(bytes);
        return;
      }
    }

    const bearer = request.headers.authorization?.replace(/^Bearer /, "");
    const user = bearer ? tokens.get(bearer) : undefined;
    if (bearer && !user) {
      json(response, 401, { error: "Invalid credentials in Authorization header" });
      return;
    }

    if (method === "GET" && path === "/api/whoami-v2") {
      if (!user) return json(response, 401, { error: "Invalid credentials in Authorization header" });
      return json(response, 200, {
        type: "user",
        name: user,
        orgs: [],
        auth: { type: "access_token", accessToken: { displayName: "test", role: "write" } },
      });
    }

    if (method === "POST" && path === "/api/repos/create") {
      if (!user) return json(response, 401, { error: "Invalid credentials in Authorization header" });
      const asked = JSON.parse(body.toString()) as { name: string; organization?: string; visibility?: string };
      const id = `${asked.organization ?? user}/${asked.name}`;
      if ((asked.organization ?? user) !== user)
        return json(response, 403, {
          error: `You don't have the rights to create a model under the namespace "${asked.organization}"`,
        });
      if (repos.has(id))
        return json(response, 409, { error: "You already created this model repo", url: `${url}/${id}` });
      addRepo(id, {}, { private: asked.visibility === "private" });
      return json(response, 200, { url: `${url}/${id}`, id });
    }

    const lfsPut = /^\/lfs-upload\/([0-9a-f]{64})$/.exec(path);
    if (method === "PUT" && lfsPut) {
      const bytes = body;
      if (sha256(bytes) !== lfsPut[1]) return json(response, 400, { error: "sha256 mismatch" });
      lfs.set(lfsPut[1] as string, bytes);
      response.writeHead(200, { ETag: `"${lfsPut[1]}"` });
      response.end();
      return;
    }

    // Dataset routes are the model routes with `datasets/` after `/api/` (or first), in their own namespace.
    const dataset = /^\/(?:api\/)?datasets\//.test(path);
    const routed = dataset
      ? path.replace(/^\/(api\/)?datasets\//, (_, api?: string) => (api ? "/api/models/" : "/"))
      : path;
    const route =
      /^\/(?:api\/models\/)?([^/]+\/[^/.]+(?:\.[^/]+?)?)(\.git\/info\/lfs\/objects\/batch|\/revision\/[^/]+|\/tree\/[^/]+(?:\/.*)?|\/preupload\/[^/]+|\/commit\/[^/]+|\/branch\/[^/]+|\/resolve\/[^/]+\/.+)$/.exec(
        routed,
      );
    const repo = route ? repos.get(`${dataset ? "datasets/" : ""}${route[1] as string}`) : undefined;
    if (!route || !repo) {
      return json(response, user ? 404 : 401, { error: "Repository not found" }, { "X-Error-Code": "RepoNotFound" });
    }
    const [owner] = repo.id.split("/");
    if (repo.private && user !== owner)
      return json(response, user ? 404 : 401, { error: "Repository not found" }, { "X-Error-Code": "RepoNotFound" });
    const rest = route[2] as string;
    const writer = user === owner;

    if (rest.startsWith("/revision/")) {
      const commit = commitOf(repo, decodeURIComponent(rest.slice("/revision/".length)));
      if (!commit) return json(response, 404, { error: "Invalid rev id" }, { "X-Error-Code": "RevisionNotFound" });
      return json(response, 200, {
        _id: repo.id,
        id: repo.id,
        private: repo.private,
        gated: repo.gated ? "manual" : false,
        sha: commit.oid,
        siblings: [...commit.files.keys()].map((rfilename) => ({ rfilename })),
      });
    }

    if (rest.startsWith("/tree/")) {
      const [, , revision, ...prefixParts] = rest.split("/");
      const commit = commitOf(repo, revision as string);
      if (!commit) return json(response, 404, { error: "Invalid rev id" }, { "X-Error-Code": "RevisionNotFound" });
      const prefix = prefixParts.join("/");
      const recursive = parsed.searchParams.get("recursive") === "true";
      const under = [...commit.files.keys()].filter((p) => (prefix ? p.startsWith(`${prefix}/`) : true));
      const shown = (p: string) => recursive || !p.slice(prefix ? prefix.length + 1 : 0).includes("/");
      // The Hub lists folders as entries of their own, before or among the files.
      const folders = [
        ...new Set(
          under.flatMap((p) =>
            p
              .split("/")
              .slice(0, -1)
              .map((_, i, parts) => parts.slice(0, i + 1).join("/")),
          ),
        ),
      ].filter((d) => (prefix ? d.startsWith(`${prefix}/`) : true) && shown(d));
      const folderEntries = folders.map((d) => ({
        type: "directory",
        path: d,
        size: 0,
        oid: gitBlobSha(Buffer.from(d)),
      }));
      const entries = [...commit.files.entries()]
        .filter(([p]) => under.includes(p) && shown(p))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([p, f]) => ({
          type: "file",
          path: p,
          size: f.bytes.length,
          oid: f.lfs
            ? gitBlobSha(
                Buffer.from(
                  `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(f.bytes)}\nsize ${f.bytes.length}\n`,
                ),
              )
            : gitBlobSha(f.bytes),
          ...(f.lfs ? { lfs: { oid: sha256(f.bytes), size: f.bytes.length, pointerSize: 134 } } : {}),
        }));
      entries.unshift(...(folderEntries as typeof entries));
      const cursor = Number(parsed.searchParams.get("cursor") ?? 0);
      const page = entries.slice(cursor, cursor + TREE_PAGE);
      const next = cursor + TREE_PAGE < entries.length ? new URL(parsed.href) : undefined;
      next?.searchParams.set("cursor", String(cursor + TREE_PAGE));
      return json(response, 200, page, next ? { Link: `<${next.href}>; rel="next"` } : {});
    }

    if (rest.startsWith("/resolve/")) {
      const [, , revision, ...fileParts] = rest.split("/");
      if (repo.gated && !(user && (repo.approved.has(user) || writer))) {
        return user
          ? json(
              response,
              403,
              {
                error: `Access to ${repo.type} ${repo.id} is restricted and you are not in the authorized list. Visit ${url}/${dataset ? "datasets/" : ""}${repo.id} to ask for access.`,
              },
              { "X-Error-Code": "GatedRepo" },
            )
          : json(
              response,
              401,
              {
                error: `Access to ${repo.type} ${repo.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
              },
              { "X-Error-Code": "GatedRepo" },
            );
      }
      const commit = commitOf(repo, revision as string);
      const file = commit?.files.get(fileParts.join("/"));
      if (!commit || !file)
        return json(response, 404, { error: "Entry not found" }, { "X-Error-Code": "EntryNotFound" });
      const etag = file.lfs ? sha256(file.bytes) : gitBlobSha(file.bytes);
      const headers: Record<string, string> = {
        ETag: `"${etag}"`,
        "X-Repo-Commit": commit.oid,
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
      };
      const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
      if (range) {
        const start = Number(range[1]);
        const end = range[2] ? Math.min(Number(range[2]), file.bytes.length - 1) : file.bytes.length - 1;
        response.writeHead(206, {
          ...headers,
          "Content-Range": `bytes ${start}-${end}/${file.bytes.length}`,
          "Content-Length": String(end - start + 1),
        });
        response.end(file.bytes.subarray(start, end + 1));
        return;
      }
      response.writeHead(200, { ...headers, "Content-Length": String(file.bytes.length) });
      if (truncate) {
        response.write(file.bytes.subarray(0, file.bytes.length >> 1), () => request.socket.destroy());
        return;
      }
      response.end(file.bytes);
      return;
    }

    if (!writer)
      return json(response, user ? 403 : 401, {
        error: user ? `You don't have write access to ${repo.id}` : "Invalid credentials in Authorization header",
      });

    if (rest.startsWith("/branch/")) {
      const branch = decodeURIComponent(rest.slice("/branch/".length));
      if (repo.branches.has(branch)) return json(response, 409, { error: "Reference already exists" });
      repo.branches.set(branch, repo.branches.get("main") as string);
      return json(response, 200, {});
    }

    if (rest.startsWith("/preupload/")) {
      const asked = JSON.parse(body.toString()) as { files: Array<{ path: string; size: number }> };
      return json(response, 200, {
        files: asked.files.map((f) => ({
          path: f.path,
          uploadMode: isLfsPath(f.path, f.size) ? "lfs" : "regular",
          shouldIgnore: false,
        })),
      });
    }

    if (rest.endsWith("/info/lfs/objects/batch")) {
      const asked = JSON.parse(body.toString()) as { objects: Array<{ oid: string; size: number }> };
      return json(
        response,
        200,
        {
          transfer: "basic",
          objects: asked.objects.map((o) => ({
            oid: o.oid,
            size: o.size,
            ...(lfs.has(o.oid) ? {} : { actions: { upload: { href: `${storageUrl}/lfs-upload/${o.oid}` } } }),
          })),
        },
        { "Content-Type": "application/vnd.git-lfs+json" },
      );
    }

    if (rest.startsWith("/commit/")) {
      const branch = decodeURIComponent(rest.slice("/commit/".length));
      const parent = commitOf(repo, branch);
      if (!parent) return json(response, 404, { error: "Invalid rev id" });
      const lines = body
        .toString()
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { key: string; value: Record<string, unknown> });
      const files = new Map(parent.files);
      let title = "";
      for (const { key, value } of lines) {
        if (key === "header") {
          title = String(value.summary);
          if (value.parentCommit && value.parentCommit !== parent.oid)
            return json(response, 412, { error: "A commit has happened since. Please refresh and try again." });
        } else if (key === "file")
          files.set(String(value.path), { bytes: Buffer.from(String(value.content), "base64"), lfs: false });
        else if (key === "lfsFile") {
          const bytes = lfs.get(String(value.oid));
          if (!bytes) return json(response, 422, { error: `LFS object ${String(value.oid)} was never uploaded` });
          files.set(String(value.path), { bytes, lfs: true });
        } else if (key === "deletedFile") files.delete(String(value.path));
      }
      const commit = newCommit(title, files);
      repo.commits.push(commit);
      repo.branches.set(branch, commit.oid);
      return json(response, 200, { commitOid: commit.oid, commitUrl: `${url}/${repo.id}/commit/${commit.oid}` });
    }
    json(response, 404, { error: "Not found" });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => storage.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  storageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`;
  return {
    url,
    storageUrl,
    get intercept() {
      return hub.intercept;
    },
    set intercept(value) {
      hub.intercept = value;
    },
    repos,
    tokens,
    faults,
    requests,
    addRepo,
    commitFiles(key, files, branch = "main") {
      const repo = repos.get(key);
      const parent = repo && commitOf(repo, branch);
      if (!repo || !parent) throw new Error(`no ${key}@${branch}`);
      const commit = newCommit("update", store(new Map(parent.files), files));
      repo.commits.push(commit);
      repo.branches.set(branch, commit.oid);
      return commit.oid;
    },
    head(id, branch = "main") {
      const repo = repos.get(id);
      const commit = repo && commitOf(repo, branch);
      if (!commit) throw new Error(`no ${id}@${branch}`);
      return commit.files;
    },
    close: async () => {
      for (const each of [server, storage]) {
        each.closeAllConnections();
        await new Promise<void>((resolve) => each.close(() => resolve()));
      }
    },
  };
}
