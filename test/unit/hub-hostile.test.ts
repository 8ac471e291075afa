import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { downloadModel, pushFiles } from "../../src/hub/index.js";
import { failure, useFakeHub } from "../support/hub-fixture.js";
import { gitBlobSha, sha256, type InterceptedRequest, type Reply } from "../support/hub-server.js";
import { tempDir } from "../support/temp-dir.js";

// Everything a Hub sends is untrusted: names that become cache paths, bytes, error bodies.
const TOKEN = "hf_hostile_reader_8d2f61c4a9";
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const fixture = useFakeHub(TOKEN);
beforeEach(() => {
  process.env.TUNE_HUB_BACKOFF_MS = "1";
});

/** The tree listing the Hub gives for the model's files, as a test may then falsify it. */
function listing(): Array<Record<string, unknown>> {
  return Object.entries(fixture.modelFiles).map(([path, bytes]) => {
    const lfs = path.endsWith(".safetensors");
    return {
      type: "file",
      path,
      size: bytes.length,
      oid: gitBlobSha(lfs ? Buffer.from(`pointer ${path}`) : bytes),
      ...(lfs ? { lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: 134 } } : {}),
    };
  });
}

/** A file's bytes as the Hub serves them: the whole, or the range asked for (how clients learn the size). */
function served(bytes: Buffer, range: string | undefined, headers: Record<string, string> = {}): Reply {
  const asked = /^bytes=(\d+)-(\d*)$/.exec(range ?? "");
  if (!asked) return { status: 200, headers, body: bytes };
  const start = Number(asked[1]);
  const end = asked[2] ? Math.min(Number(asked[2]), bytes.length - 1) : bytes.length - 1;
  return {
    status: 206,
    headers: { ...headers, "Content-Range": `bytes ${start}-${end}/${bytes.length}` },
    body: bytes.subarray(start, end + 1),
  };
}

/** A Hub that answers for acme/evil with the given revision answer, listing and file bytes. */
function evilHub(options: {
  sha?: unknown;
  entries?: Array<Record<string, unknown>>;
  bytes?: (path: string) => Buffer | undefined;
}): (request: InterceptedRequest) => Reply | undefined {
  return ({ path, headers }) => {
    if (!path.includes("acme/evil")) return undefined;
    if (path.includes("/revision/"))
      return { status: 200, body: { id: "acme/evil", sha: "sha" in options ? options.sha : COMMIT } };
    if (path.includes("/tree/")) return { status: 200, body: options.entries ?? listing() };
    const file = /\/resolve\/[^/]+\/(.+)$/.exec(path)?.[1];
    if (file) {
      const bytes = options.bytes?.(file) ?? fixture.modelFiles[file];
      return bytes
        ? served(bytes, headers.range, { ETag: `"${sha256(bytes)}"`, "X-Repo-Commit": COMMIT })
        : { status: 404, headers: { "X-Error-Code": "EntryNotFound" }, body: { error: "Entry not found" } };
    }
    return undefined;
  };
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

describe("names a Hub sends become paths only after they are checked", () => {
  it.each([
    [
      "a git oid that climbs out of the cache",
      (outside: string, blobs: string) => ({
        entries: listing().map((e) =>
          e.path === "config.json" ? { ...e, oid: relative(blobs, join(outside, "planted")) } : e,
        ),
      }),
      /git oid of config\.json/,
    ],
    [
      "an LFS sha256 that climbs out of the cache",
      (outside: string, blobs: string) => ({
        entries: listing().map((e) =>
          e.lfs ? { ...e, lfs: { ...(e.lfs as object), oid: relative(blobs, join(outside, "planted")) } } : e,
        ),
      }),
      /LFS sha256 of model\.safetensors/,
    ],
    [
      "a commit id that climbs out of the cache",
      (outside: string) => ({ sha: `../../../../../../../../${outside}/snap` }),
      /commit id for revision main/,
    ],
    ["a commit id that is a branch name", () => ({ sha: "main" }), /commit id for revision main/],
    [
      "an absolute file path, listed but not needed",
      () => ({ entries: [...listing(), { type: "file", path: "/etc/passwd", size: 3, oid: "b".repeat(40) }] }),
      /file path \(absolute\)/,
    ],
    [
      "a file path that climbs, listed but not needed",
      () => ({ entries: [...listing(), { type: "directory", path: "../../x", size: 0, oid: "b".repeat(40) }] }),
      /file path \(has an empty, '\.' or '\.\.' segment\)/,
    ],
    [
      "a negative size",
      () => ({ entries: listing().map((e) => (e.path === "config.json" ? { ...e, size: -5 } : e)) }),
      /size of config\.json/,
    ],
  ])("refuses %s with exit 4, naming the Hub, and writes nothing", async (_name, hostile, said) => {
    const outside = tempDir();
    const blobs = join(fixture.cache, "models--acme--evil", "blobs");
    fixture.hub.intercept = evilHub(hostile(outside, blobs));
    const refused = await failure(downloadModel("acme/evil", "main"));
    expect(refused.exitCode).toBe(4);
    expect(refused.text).toMatch(said);
    if (refused.code === "hub-invalid-reply")
      expect(refused.text).toContain(`the Hub at ${fixture.hub.url} sent an invalid`);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(fixture.cache, "models--acme--evil", "refs"))).toBe(false);
    expect(filesUnder(join(fixture.cache, "models--acme--evil", "snapshots"))).toEqual([]);
  });

  it("refuses a listing that never ends instead of following it", async () => {
    const page = Array.from({ length: 1000 }, (_, i) => ({
      type: "file",
      path: `f${i}.txt`,
      size: 1,
      oid: "a".repeat(40),
    }));
    fixture.hub.intercept = ({ path }) => {
      if (path.includes("/revision/")) return { status: 200, body: { sha: COMMIT } };
      if (path.includes("/tree/"))
        return {
          status: 200,
          headers: { Link: `<${fixture.hub.url}/api/models/acme/evil/tree/${COMMIT}?cursor=x>; rel="next"` },
          body: page,
        };
      return undefined;
    };
    const refused = await failure(downloadModel("acme/evil", "main"));
    expect(refused).toMatchObject({ code: "hub-invalid-reply", exitCode: 4 });
    expect(refused.text).toContain("file listing (it does not end)");
  });
});

describe("downloaded bytes are the listed bytes, or nothing is cached", () => {
  it.each([
    [
      "a same-size tampered config.json (a regular file)",
      "config.json",
      (bytes: Buffer) => Buffer.from(bytes.toString().replace(/"/, "'")),
      /git blob sha1/,
    ],
    [
      "a same-size tampered model.safetensors (an LFS file)",
      "model.safetensors",
      (bytes: Buffer) => Buffer.concat([bytes.subarray(0, -1), Buffer.from([bytes[bytes.length - 1] === 0 ? 1 : 0])]),
      /sha256/,
    ],
    [
      "more bytes than listed",
      "tokenizer.json",
      (bytes: Buffer) => Buffer.concat([bytes, Buffer.alloc(4096, 32)]),
      /more than the \d+ bytes listed/,
    ],
    [
      "fewer bytes than listed",
      "tokenizer_config.json",
      (bytes: Buffer) => bytes.subarray(0, -3),
      /bytes, not the \d+ listed/,
    ],
  ])("%s: says the Hub sent different bytes, exit 4, no blob, no link", async (_name, file, tamper, which) => {
    fixture.hub.intercept = evilHub({
      bytes: (path) => (path === file ? tamper(fixture.modelFiles[file] as Buffer) : undefined),
    });
    const refused = await failure(downloadModel("acme/evil", "main"));
    expect(refused).toMatchObject({ code: "hub-content-mismatch", exitCode: 4 });
    expect(refused.text).toContain(
      `the Hub at ${fixture.hub.url} sent different bytes for acme/evil/${file} than it listed`,
    );
    expect(refused.text).toMatch(which);
    expect(refused.text).toContain("nothing was cached");
    expect(refused.text).not.toMatch(/cannot reach|check the network or HF_ENDPOINT;/i);
    expect(existsSync(join(fixture.cache, "models--acme--evil", "snapshots", COMMIT, file))).toBe(false);
    const blobs = filesUnder(join(fixture.cache, "models--acme--evil", "blobs"));
    expect(blobs.some((blob) => blob.endsWith(".incomplete"))).toBe(false);
    for (const blob of blobs)
      expect([gitBlobSha(readFileSync(blob)), sha256(readFileSync(blob))]).toContain(blob.split("/").at(-1));
  });

  it("fetches again a cached regular file whose bytes changed on disk, and relinks a planted snapshot link", async () => {
    fixture.hub.addRepo("acme/tiny", fixture.modelFiles);
    const first = await downloadModel("acme/tiny", "main");
    const config = join(
      fixture.cache,
      "models--acme--tiny",
      "blobs",
      gitBlobSha(fixture.modelFiles["config.json"] as Buffer),
    );
    writeFileSync(config, Buffer.from((fixture.modelFiles["config.json"] as Buffer).toString().replace(/"/, "'")));
    writeFileSync(join(fixture.cache, "planted.json"), "{}");
    const link = join(first.dir, "tokenizer_config.json");
    const { rmSync, symlinkSync } = await import("node:fs");
    rmSync(link);
    symlinkSync(join(fixture.cache, "planted.json"), link);
    const again = await downloadModel("acme/tiny", "main");
    expect(again.fetched).toEqual(["config.json"]);
    expect(readFileSync(join(again.dir, "config.json")).equals(fixture.modelFiles["config.json"] as Buffer)).toBe(true);
    expect(readFileSync(link).equals(fixture.modelFiles["tokenizer_config.json"] as Buffer)).toBe(true);
  });
});

describe("tokens go to the Hub's own origin, as any mirror issues them", () => {
  it("sends a token without the hf_ prefix to a mirror as a Bearer token, and to no other origin", async () => {
    const mirrorToken = "mirror-7f3a9c2e1d-token";
    fixture.hub.tokens.set(mirrorToken, "mirror-user");
    fixture.hub.addRepo("mirror-user/private-model", fixture.modelFiles, { private: true });
    process.env.HF_TOKEN = mirrorToken;
    // config.json is served from storage on another origin through a redirect, as the Hub's CDN does.
    fixture.hub.intercept = ({ method, path, headers }) => {
      if (method === "GET" && /private-model\/resolve\/.+\/config\.json$/.test(path))
        return { status: 302, headers: { Location: `${fixture.hub.storageUrl}/cdn/config.json` }, body: "" };
      if (path === "/cdn/config.json")
        return served(fixture.modelFiles["config.json"] as Buffer, headers.range, {
          ETag: `"${gitBlobSha(fixture.modelFiles["config.json"] as Buffer)}"`,
        });
      return undefined;
    };
    const model = await downloadModel("mirror-user/private-model", "main");
    expect(readFileSync(join(model.dir, "config.json")).equals(fixture.modelFiles["config.json"] as Buffer)).toBe(true);
    const toHub = fixture.hub.requests.filter((r) => r.origin === fixture.hub.url);
    const elsewhere = fixture.hub.requests.filter((r) => r.origin !== fixture.hub.url);
    expect(toHub.length).toBeGreaterThan(3);
    expect(toHub.every((r) => r.authorization === `Bearer ${mirrorToken}`)).toBe(true);
    expect(new Set(elsewhere.map((r) => r.path))).toEqual(new Set(["/cdn/config.json"]));
    expect(elsewhere.every((r) => r.authorization === undefined)).toBe(true);

    const pushed = await pushFiles({
      repo: "mirror-user/adapter",
      files: [{ path: "adapter_config.json", content: new TextEncoder().encode("{}\n") }],
      title: "t",
    });
    expect(pushed.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it.each([
    [
      "a token without hf_ for huggingface.co",
      "abcdefgh12345678",
      undefined,
      /tokens of huggingface\.co start with hf_/,
    ],
    [
      "a token with a space in it",
      "hf_abc def1234567",
      "mirror",
      /character 7 is a space, control or non-ASCII character/,
    ],
    [
      "a token with a line break in it",
      "hf_abc\ndef1234567",
      "mirror",
      /character 7 is a space, control or non-ASCII character/,
    ],
    [
      "a token with a non-ASCII letter",
      "hf_abcdéf1234567",
      "mirror",
      /character 8 is a space, control or non-ASCII character/,
    ],
  ])(
    "says plainly that %s is malformed, where it came from, without showing it",
    async (_name, token, endpoint, why) => {
      if (endpoint) process.env.HF_ENDPOINT = fixture.hub.url;
      else delete process.env.HF_ENDPOINT;
      process.env.HF_TOKEN = token;
      fixture.hub.addRepo("acme/public", fixture.modelFiles);
      const refused = await failure(downloadModel("acme/public", "main"));
      expect(refused).toMatchObject({ code: "hub-token-malformed", exitCode: 4 });
      expect(refused.text).toContain("the Hugging Face token from HF_TOKEN is malformed");
      expect(refused.text).toMatch(why);
      expect(refused.text).not.toContain(token.trim());
      expect(fixture.hub.requests).toEqual([]);
    },
  );

  it.each([
    ["not a URL", "fixture.hub.example.org"],
    ["another scheme", "ftp://fixture.hub.example.org"],
    ["credentials in it", "https://user:s3cret-pass@fixture.hub.example.org"],
  ])("refuses an HF_ENDPOINT that is %s, with exit 4", async (_name, endpoint) => {
    process.env.HF_ENDPOINT = endpoint;
    const refused = await failure(downloadModel("acme/public", "main"));
    expect(refused).toMatchObject({ code: "hub-endpoint-invalid", exitCode: 4 });
    expect(refused.text).not.toContain("s3cret-pass");
  });
});

describe("a push whose answer was lost is reported as what the branch holds", () => {
  const files = (text: string) => [{ path: "notes.txt", content: new TextEncoder().encode(text) }];
  beforeEach(() => {
    process.env.HF_TOKEN = TOKEN;
    fixture.hub.tokens.set(TOKEN, "reader");
  });

  it("the Hub applied the commit and answered 500, the retry got 412: the push landed, once", async () => {
    fixture.hub.addRepo("reader/lost", { "notes.txt": "v1\n" });
    const before = fixture.hub.repos.get("reader/lost")?.commits.length as number;
    fixture.hub.faults.push({ route: /\/commit\//, kind: "apply-then-500", times: 1 });
    const pushed = await pushFiles({ repo: "reader/lost", files: files("v2\n"), title: "second" });
    const repo = fixture.hub.repos.get("reader/lost");
    expect(repo?.commits.length).toBe(before + 1);
    expect(pushed.commit).toBe(repo?.branches.get("main"));
    expect(pushed.confirmedAfter).toMatch(/HTTP 412|HTTP 500/);
    expect(fixture.hub.head("reader/lost").get("notes.txt")?.bytes.toString()).toBe("v2\n");
  });

  it("someone else committed meanwhile: says this push was not committed, exit 4", async () => {
    const repo = fixture.hub.addRepo("reader/raced", { "notes.txt": "v1\n" });
    let raced = false;
    fixture.hub.intercept = ({ path }) => {
      if (!raced && path.includes("/preupload/")) {
        raced = true;
        const other = {
          oid: "f".repeat(40),
          title: "someone else",
          files: new Map([
            ...(repo.commits.at(-1)?.files ?? []),
            ["notes.txt", { bytes: Buffer.from("theirs\n"), lfs: false }],
          ]),
        };
        repo.commits.push(other);
        repo.branches.set("main", other.oid);
      }
      return undefined;
    };
    const refused = await failure(pushFiles({ repo: "reader/raced", files: files("mine\n"), title: "mine" }));
    expect(refused).toMatchObject({ code: "hub-push-conflict", exitCode: 4 });
    expect(refused.text).toContain(
      `someone else committed to reader/raced@main while this push ran (it is now at ${"f".repeat(12)}); this push was not committed`,
    );
    expect(fixture.hub.head("reader/raced").get("notes.txt")?.bytes.toString()).toBe("theirs\n");
  });

  it("a commit answer with an invalid commit id is refused; the branch is read back and said unchanged", async () => {
    fixture.hub.addRepo("reader/odd", { "notes.txt": "v1\n" });
    const head = fixture.hub.repos.get("reader/odd")?.branches.get("main") as string;
    fixture.hub.intercept = ({ method, path }) =>
      method === "POST" && path.includes("/commit/")
        ? { status: 200, body: { commitOid: "../../../../tmp/x", commitUrl: "x" } }
        : undefined;
    const refused = await failure(pushFiles({ repo: "reader/odd", files: files("v2\n"), title: "t" }));
    expect(refused.exitCode).toBe(4);
    expect(refused.text).toContain(
      `the Hub at ${fixture.hub.url} sent an invalid commit id of the new commit for reader/odd`,
    );
    expect(refused.text).toContain(`reader/odd@main is unchanged (still at ${head.slice(0, 12)})`);
  });
});
