import { existsSync, lstatSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { downloadDataset } from "../../src/hub/index.js";
import { formatOf, readRows } from "../../src/data/index.js";
import { failure, useFakeHub } from "../support/hub-fixture.js";
import { gitBlobSha, sha256, type Reply } from "../support/hub-server.js";
import { parquetShard, noteRows, shardedNotes } from "../support/dataset-repo.js";

const TOKEN = "hf_dataset_reader_5e1c7a";
const fixture = useFakeHub(TOKEN);
const COMMIT = "89abcdef0123456789abcdef0123456789abcdef";

async function rowCount(file: string): Promise<number> {
  let count = 0;
  for await (const _ of readRows(file, formatOf(file, "auto"))) count++;
  return count;
}

describe("downloading a Hub dataset's split into the Hugging Face cache", () => {
  it("fetches a split's shards in order into datasets--owner--name, and the cache answers offline", async () => {
    const repo = fixture.hub.addRepo("acme/notes", shardedNotes(), { type: "dataset" });
    const commit = repo.branches.get("main") as string;
    const train = await downloadDataset("acme/notes", "main", { split: "train" });
    expect(train.commit).toBe(commit);
    expect(train.dir).toBe(join(fixture.cache, "datasets--acme--notes", "snapshots", commit));
    expect(train.files).toEqual(["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]);
    for (const file of train.files) {
      expect(lstatSync(join(train.dir, file)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(train.dir, file))).toMatch(/^\.\.\/\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
      expect(await rowCount(join(train.dir, file))).toBe(12);
    }
    expect(existsSync(join(train.dir, "data/test-00000-of-00001.parquet"))).toBe(false);
    expect(readFileSync(join(fixture.cache, "datasets--acme--notes", "refs", "main"), "utf8")).toBe(commit);
    expect(fixture.hub.requests.some((r) => r.path.startsWith("/api/datasets/acme/notes/tree/"))).toBe(true);

    process.env.HF_HUB_OFFLINE = "1";
    const before = fixture.hub.requests.length;
    expect(await downloadDataset("acme/notes", "main", { split: "train" })).toMatchObject({
      files: train.files,
      fetched: [],
    });
    // The test split was never fetched: the cache does not hold it, and says so.
    const missing = await failure(downloadDataset("acme/notes", "main", { split: "test" }));
    expect(missing).toMatchObject({ code: "dataset-not-cached", exitCode: 4 });
    expect(missing.message).toContain("the dataset acme/notes (revision main) is not in the Hugging Face cache");
    expect(fixture.hub.requests.length).toBe(before);
  });

  it("reads the card's configs, and takes files by name from CSV and JSON Lines repos", async () => {
    fixture.hub.addRepo(
      "acme/carded",
      {
        "README.md":
          "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: raw/part-*.parquet\n---\n# Notes\n",
        "raw/part-b.parquet": parquetShard(noteRows(5, 5)),
        "raw/part-a.parquet": parquetShard(noteRows(0, 5)),
        "data/train-00000-of-00001.parquet": parquetShard(noteRows(0, 1)),
      },
      { type: "dataset" },
    );
    const carded = await downloadDataset("acme/carded", "main", { split: "train" });
    expect(carded.files).toEqual(["raw/part-a.parquet", "raw/part-b.parquet"]);
    expect(existsSync(join(carded.dir, "README.md"))).toBe(true);

    const csv =
      "text,label\n" +
      noteRows(0, 4)
        .map((r) => `"${r.text}",${r.label}`)
        .join("\n");
    const jsonl = noteRows(0, 3)
      .map((r) => JSON.stringify(r))
      .join("\n");
    fixture.hub.addRepo("acme/plain", { "train.csv": csv, "test.jsonl": jsonl }, { type: "dataset" });
    const test = await downloadDataset("acme/plain", "main", { split: "test" });
    expect(test.files).toEqual(["test.jsonl"]);
    expect(await rowCount(join(test.dir, "test.jsonl"))).toBe(3);
    const named = await downloadDataset("acme/plain", "main", { files: ["*.csv"] });
    expect(await rowCount(join(named.dir, named.files[0] as string))).toBe(4);
  });

  it("refuses an unknown split, listing the splits the repo has", async () => {
    fixture.hub.addRepo("acme/notes", shardedNotes(), { type: "dataset" });
    const refused = await failure(downloadDataset("acme/notes", "main", { split: "validation" }));
    expect(refused).toMatchObject({ code: "dataset-split-unknown", exitCode: 2 });
    expect(refused.message).toBe('acme/notes has no split "validation"; its splits are train, test');
  });

  it("explains gated and private datasets as it does models, naming the dataset's page", async () => {
    fixture.hub.addRepo("meta/gated-notes", shardedNotes(), { type: "dataset", gated: true });
    expect(await failure(downloadDataset("meta/gated-notes", "main", { split: "train" }))).toMatchObject({
      code: "hub-token-missing",
      exitCode: 4,
    });
    process.env.HF_TOKEN = TOKEN;
    const gated = await failure(downloadDataset("meta/gated-notes", "main", { split: "train" }));
    expect(gated).toMatchObject({ code: "hub-gated", exitCode: 4 });
    expect(gated.message).toMatch(/^meta\/gated-notes is a gated dataset and this account has no access/);
    expect(gated.hint).toContain(`${fixture.hub.url}/datasets/meta/gated-notes`);
    fixture.hub.repos.get("datasets/meta/gated-notes")?.approved.add("reader");
    await expect(downloadDataset("meta/gated-notes", "main", { split: "train" })).resolves.toMatchObject({
      files: expect.arrayContaining(["data/train-00000-of-00002.parquet"]),
    });

    fixture.hub.addRepo("someone/private-notes", shardedNotes(), { type: "dataset", private: true });
    expect(await failure(downloadDataset("someone/private-notes", "main", { split: "train" }))).toMatchObject({
      code: "hub-not-found",
      message: expect.stringContaining("the dataset someone/private-notes at revision main does not exist"),
    });
    // A model repo of that name is not the dataset.
    fixture.hub.addRepo("acme/model-only", fixture.modelFiles);
    expect(await failure(downloadDataset("acme/model-only", "main", { split: "train" }))).toMatchObject({
      code: "hub-not-found",
    });
  });

  it.each([
    [
      "a path that climbs out of the snapshot",
      "data/../../../escape.parquet",
      /file path \(has an empty, '\.' or '\.\.' segment\)/,
    ],
    ["an absolute path", "/etc/passwd.parquet", /file path \(absolute\)/],
  ])("refuses a listing with %s and writes nothing", async (_name, path, said) => {
    const bytes = parquetShard(noteRows(0, 2));
    fixture.hub.intercept = ({ path: asked }) => {
      if (!asked.includes("acme/evil-notes")) return undefined;
      if (asked.includes("/revision/")) return { status: 200, body: { id: "acme/evil-notes", sha: COMMIT } };
      if (asked.includes("/tree/"))
        return {
          status: 200,
          body: [
            {
              type: "file",
              path,
              size: bytes.length,
              oid: gitBlobSha(bytes),
              lfs: { oid: sha256(bytes), size: bytes.length },
            },
          ],
        };
      return undefined;
    };
    const refused = await failure(downloadDataset("acme/evil-notes", "main", { split: "train" }));
    expect(refused).toMatchObject({ code: "hub-invalid-reply", exitCode: 4 });
    expect(refused.text).toMatch(said);
    expect(existsSync(join(fixture.cache, "datasets--acme--evil-notes"))).toBe(false);
  });

  it("refuses a shard whose bytes are not the listed ones, and caches nothing of it", async () => {
    fixture.hub.addRepo("acme/notes", shardedNotes(), { type: "dataset" });
    const real = shardedNotes()["data/test-00000-of-00001.parquet"] as Buffer;
    const tampered = Buffer.from(real);
    const middle = tampered.length >> 1;
    tampered.writeUInt8((tampered.readUInt8(middle) + 1) % 256, middle);
    fixture.hub.intercept = ({ path, headers }): Reply | undefined => {
      if (!/\/datasets\/acme\/notes\/resolve\/.+test-00000/.test(path)) return undefined;
      const range = /^bytes=0-0$/.test(headers.range ?? "");
      return range
        ? {
            status: 206,
            headers: { "Content-Range": `bytes 0-0/${tampered.length}`, ETag: `"${sha256(real)}"` },
            body: tampered.subarray(0, 1),
          }
        : { status: 200, headers: { ETag: `"${sha256(real)}"` }, body: tampered };
    };
    const refused = await failure(downloadDataset("acme/notes", "main", { split: "test" }));
    expect(refused).toMatchObject({ code: "hub-content-mismatch", exitCode: 4 });
    expect(refused.text).toContain("acme/notes/data/test-00000-of-00001.parquet");
    expect(existsSync(join(fixture.cache, "datasets--acme--notes", "blobs", sha256(real)))).toBe(false);
  });
});
