import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { hasStackTrace, tune } from "../support/cli.js";
import { shardedNotes } from "../support/dataset-repo.js";
import { startFakeHub, type FakeHub } from "../support/hub-server.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

const TOKEN = "hf_dataset_writer_77c1";
const RECIPE = `task: sequence-classification
engine: tfjs
model: {base: builtin:tiny-llama}
lora: {r: 4, alpha: 8}
data:
  train: {hub: {repo: acme/notes, split: train}}
  test: {hub: {repo: acme/notes, split: test}}
  labels: [good, bad]
training: {max_steps: 2, batch_size: 8, lr: 0.02}
hub: {repo: tester/notes-adapter}
`;

let hub: FakeHub;
beforeAll(async () => {
  hub = await startFakeHub();
  hub.tokens.set(TOKEN, "tester");
  hub.addRepo("acme/notes", shardedNotes(), { type: "dataset" });
});
afterAll(async () => hub.close());

interface Manifest {
  provenance: {
    dataset_key: string;
    datasets: Array<{ role: string; repo: string; revision: string; commit: string }>;
  };
}

/** The test metrics and the newest checkpoint's provenance of a finished run. */
function outcome(dir: string, run: string) {
  const best = JSON.parse(readFileSync(join(dir, run, "best.json"), "utf8")) as { checkpoint: string };
  const checkpoint = join(dir, run, best.checkpoint);
  const metrics = JSON.parse(readFileSync(join(checkpoint, "metrics.json"), "utf8")) as {
    test: { examples: number; metrics: Record<string, number> };
  };
  const manifest = JSON.parse(readFileSync(join(checkpoint, "MANIFEST.json"), "utf8")) as Manifest;
  return { test: metrics.test, provenance: manifest.provenance };
}

describe("a recipe whose data is a Hub dataset", () => {
  it("trains from the local Hub, then offline from the cache alone to the same result, and the card lists the dataset", async () => {
    const dir = tempDir({ "recipe.yaml": RECIPE });
    const env = {
      TUNE_CACHE_DIR: testCache(dir),
      HF_ENDPOINT: hub.url,
      HF_HUB_CACHE: join(dir, "hf"),
      HF_TOKEN: TOKEN,
      TUNE_HUB_BACKOFF_MS: "5",
    };
    const commit = hub.repos.get("datasets/acme/notes")?.branches.get("main") as string;

    const online = await tune(["recipe", "recipe.yaml", "--out", "online"], { cwd: dir, env });
    expect(hasStackTrace(online.stderr)).toBe(false);
    expect(online.exitCode, online.stderr).toBe(0);
    const first = outcome(dir, "online/recipe");
    expect(first.test.examples).toBe(8);
    expect(first.provenance.datasets).toEqual([
      { role: "train", repo: "acme/notes", revision: "main", commit },
      { role: "test", repo: "acme/notes", revision: "main", commit },
    ]);
    const card = hub.head("tester/notes-adapter").get("README.md")?.bytes.toString() as string;
    const front = parse(card.split("---")[1] as string) as Record<string, unknown>;
    expect(front.datasets).toEqual(["acme/notes"]);
    expect(card).toContain(
      `\`acme/notes\`, split \`train\`, revision \`main\` (commit \`${commit}\`), as the train split`,
    );

    // Offline, and with the Hub gone: the same files from the cache, the same tokenized data, the same run.
    const requests = hub.requests.length;
    const offline = { ...env, HF_HUB_OFFLINE: "1" };
    delete (offline as Record<string, string>).HF_TOKEN;
    const recipeOffline = RECIPE.replace("hub: {repo: tester/notes-adapter}\n", "");
    const offlineDir = tempDir({ "recipe.yaml": recipeOffline });
    const again = await tune(["recipe", join(offlineDir, "recipe.yaml"), "--out", "offline"], {
      cwd: dir,
      env: offline,
    });
    expect(again.exitCode, again.stderr).toBe(0);
    const gone = await tune(["recipe", join(offlineDir, "recipe.yaml"), "--out", "gone"], {
      cwd: dir,
      env: { ...offline, HF_HUB_OFFLINE: "0", HF_ENDPOINT: "http://127.0.0.1:9", TUNE_HUB_RETRIES: "0" },
    });
    expect(gone.exitCode, gone.stderr).toBe(0);
    expect(gone.stdout + gone.stderr).toContain(
      `using the copy of the dataset acme/notes in the Hugging Face cache (commit ${commit})`,
    );
    expect(hub.requests.length).toBe(requests);
    for (const run of ["offline/recipe", "gone/recipe"]) {
      const later = outcome(dir, run);
      expect(later.test).toEqual(first.test);
      expect(later.provenance.dataset_key).toBe(first.provenance.dataset_key);
      expect(later.provenance.datasets).toEqual(first.provenance.datasets);
    }

    // A new commit on main tokenizes again under another key; resuming the first run says why it cannot.
    const moved = hub.commitFiles("datasets/acme/notes", {
      "data/test-00000-of-00001.parquet": shardedNotes()["data/train-00001-of-00002.parquet"] as Buffer,
    });
    const prepared = await tune(["prepare", "recipe.yaml", "--json"], { cwd: dir, env });
    expect(prepared.exitCode, prepared.stderr).toBe(0);
    const { key, datasets } = JSON.parse(prepared.stdout) as { key: string; datasets: Array<{ commit: string }> };
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(key).not.toBe(first.provenance.dataset_key);
    expect(datasets.map((d) => d.commit)).toEqual([moved, moved]);
    const resumed = await tune(["recipe", "recipe.yaml", "--out", "online"], { cwd: dir, env });
    expect(resumed.exitCode).toBe(2);
    expect(resumed.stderr).toContain(`acme/notes at revision main was commit ${commit} then and is ${moved} now`);
    // tune eval judges the checkpoint on the rows it was judged on, at the commit its manifest records.
    const judged = await tune(["eval", "online/recipe", "--split", "test", "--json"], { cwd: dir, env });
    expect(judged.exitCode, judged.stderr).toBe(0);
    const [evaluation] = JSON.parse(judged.stdout) as Array<{ examples: number; metrics: Record<string, number> }>;
    expect(evaluation).toMatchObject({ examples: first.test.examples, metrics: first.test.metrics });
  });

  it("says which split is missing, with the recipe's line, and which exist", async () => {
    const dir = tempDir({
      "recipe.yaml": RECIPE.replace("split: test", "split: validation").replace(
        "hub: {repo: tester/notes-adapter}\n",
        "",
      ),
    });
    const result = await tune(["validate", "recipe.yaml"], {
      cwd: dir,
      env: { TUNE_CACHE_DIR: testCache(dir), HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(dir, "hf") },
    });
    expect(hasStackTrace(result.stderr)).toBe(false);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      'recipe.yaml:7:41  data.test.hub.split: acme/notes has no split "validation"; its splits are train, test',
    );
  });
});
