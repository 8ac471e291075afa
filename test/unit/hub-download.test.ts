import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { downloadModel } from "../../src/hub/index.js";
import { failure, useFakeHub } from "../support/hub-fixture.js";

const TOKEN = "hf_test_reader_0123456789";
const fixture = useFakeHub(TOKEN);

describe("downloading a Hub model into the Hugging Face cache", () => {
  it("survives 500s, 429s, refused requests and a file cut off mid-transfer", async () => {
    fixture.hub.addRepo("acme/flaky", fixture.modelFiles);
    fixture.hub.faults.push(
      { route: /revision/, kind: "500", times: 2 },
      { route: /tree/, kind: "429", times: 1 },
      { route: /resolve\/.*config\.json/, kind: "drop", times: 1 },
      { route: /resolve\/.*model\.safetensors/, kind: "truncate", times: 2 },
    );
    const model = await downloadModel("acme/flaky", "main", { baseDelayMs: 10 });
    expect(
      readFileSync(join(model.dir, "model.safetensors")).equals(fixture.modelFiles["model.safetensors"] as Buffer),
    ).toBe(true);
    expect(fixture.hub.faults.every((f) => f.times === 0)).toBe(true);
    expect(
      readdirSync(join(fixture.cache, "models--acme--flaky", "blobs")).some((f) => f.endsWith(".incomplete")),
    ).toBe(false);
  });

  it("explains gated models, missing and rejected tokens, unknown repos and pickle-only repos", async () => {
    fixture.hub.addRepo("meta/gated", fixture.modelFiles, { gated: true });
    const anonymous = await failure(downloadModel("meta/gated", "main"));
    expect(anonymous).toMatchObject({ code: "hub-token-missing", exitCode: 4 });

    process.env.HF_TOKEN = TOKEN;
    const gated = await failure(downloadModel("meta/gated", "main"));
    expect(gated).toMatchObject({ code: "hub-gated", exitCode: 4 });
    expect(gated.hint).toContain(`${fixture.hub.url}/meta/gated`);
    expect(gated.hint).toContain("HF_TOKEN");
    fixture.hub.repos.get("meta/gated")?.approved.add("reader");
    await expect(downloadModel("meta/gated", "main")).resolves.toMatchObject({
      fetched: expect.arrayContaining(["model.safetensors"]),
    });

    process.env.HF_TOKEN = "hf_wrong_token_value";
    const rejected = await failure(downloadModel("acme/anything", "main"));
    expect(rejected).toMatchObject({ code: "hub-token-rejected", exitCode: 4 });
    expect(rejected.message + rejected.hint).not.toContain("hf_wrong_token_value");

    process.env.HF_TOKEN = TOKEN;
    expect(await failure(downloadModel("acme/does-not-exist", "main"))).toMatchObject({
      code: "hub-not-found",
      exitCode: 2,
    });
    fixture.hub.addRepo("acme/pickled", {
      "config.json": fixture.modelFiles["config.json"] as Buffer,
      "pytorch_model.bin": Buffer.alloc(64),
    });
    expect(await failure(downloadModel("acme/pickled", "main"))).toMatchObject({
      code: "weights-pickle-only",
      exitCode: 2,
    });
  });

  it("uses only the fixture.cache offline, and falls back to it when the Hub is unreachable", async () => {
    fixture.hub.addRepo("acme/cached", fixture.modelFiles);
    process.env.HF_HUB_OFFLINE = "1";
    expect(await failure(downloadModel("acme/cached", "main"))).toMatchObject({
      code: "model-not-cached",
      exitCode: 4,
    });
    expect(fixture.hub.requests).toEqual([]);

    delete process.env.HF_HUB_OFFLINE;
    const online = await downloadModel("acme/cached", "main");
    process.env.HF_HUB_OFFLINE = "1";
    await expect(downloadModel("acme/cached", "main")).resolves.toMatchObject({ dir: online.dir, fetched: [] });
    expect(fixture.hub.requests.filter((r) => r.path.includes("acme/cached")).length).toBeGreaterThan(0);
    const before = fixture.hub.requests.length;
    await downloadModel("acme/cached", "main");
    expect(fixture.hub.requests.length).toBe(before);

    delete process.env.HF_HUB_OFFLINE;
    process.env.HF_ENDPOINT = "http://127.0.0.1:9";
    const fallback = await downloadModel("acme/cached", "main", { retries: 1, baseDelayMs: 10 });
    expect(fallback.dir).toBe(online.dir);
    expect(fallback.offlineReason).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
    expect(
      await failure(downloadModel("acme/never-downloaded", "main", { retries: 1, baseDelayMs: 10 })),
    ).toMatchObject({ code: "hub-unreachable", exitCode: 4 });
  });
});
