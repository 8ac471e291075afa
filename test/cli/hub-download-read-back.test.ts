import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { downloadDataset, downloadModel } from "../../src/hub/index.js";
import { shardedNotes } from "../support/dataset-repo.js";
import { hasStackTrace, tune } from "../support/cli.js";
import { useFakeHub } from "../support/hub-fixture.js";
import { referencePython } from "../support/reference-python.js";
import { tempDir } from "../support/temp-dir.js";

const TOKEN = "hf_test_reader_0123456789";
const fixture = useFakeHub(TOKEN);

// What reads a downloaded model: transformers, offline, and tune prepare (test/unit/hub-download.test.ts downloads in process).
describe("downloading a Hub model into the Hugging Face cache", () => {
  it("fetches only config, tokenizer and safetensors, in the layout Python reads offline", async () => {
    const repo = fixture.hub.addRepo("acme/tiny-llama", {
      ...fixture.modelFiles,
      "pytorch_model.bin": Buffer.alloc(4096, 7),
      "original/consolidated.00.pth": Buffer.alloc(2048, 3),
      "README.md": "# a model card\n",
    });
    const model = await downloadModel("acme/tiny-llama", "main");
    const commit = repo.branches.get("main") as string;
    expect(model.commit).toBe(commit);
    expect(model.dir).toBe(join(fixture.cache, "models--acme--tiny-llama", "snapshots", commit));
    expect(readdirSync(model.dir).sort()).toEqual(Object.keys(fixture.modelFiles).sort());
    for (const [name, bytes] of Object.entries(fixture.modelFiles)) {
      expect(lstatSync(join(model.dir, name)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(model.dir, name)).startsWith("../../blobs/")).toBe(true);
      expect(readFileSync(join(model.dir, name)).equals(bytes)).toBe(true);
    }
    expect(readFileSync(join(fixture.cache, "models--acme--tiny-llama", "refs", "main"), "utf8")).toBe(commit);
    const fetchedPaths = fixture.hub.requests
      .filter((r) => r.path.includes("/resolve/"))
      .map((r) => r.path.split("/").slice(5).join("/"));
    expect(new Set(fetchedPaths)).toEqual(new Set(Object.keys(fixture.modelFiles)));

    // A second resolution finds everything in the cache.
    fixture.hub.requests.length = 0;
    const again = await downloadModel("acme/tiny-llama", "main");
    expect(again.fetched).toEqual([]);
    expect(fixture.hub.requests.some((r) => r.path.includes("/resolve/"))).toBe(false);

    // transformers loads the model from the fixture.cache with the network switched off.
    const python = await execa(
      referencePython,
      [
        "-c",
        "from transformers import AutoConfig, AutoTokenizer, AutoModelForCausalLM\nm = AutoModelForCausalLM.from_pretrained('acme/tiny-llama')\nt = AutoTokenizer.from_pretrained('acme/tiny-llama')\nprint(m.config.model_type, sum(p.numel() for p in m.parameters()), t('hello')['input_ids'])",
      ],
      { env: { HF_HUB_CACHE: fixture.cache, HF_HUB_OFFLINE: "1" }, reject: false },
    );
    expect(python.stderr).not.toMatch(/Traceback/);
    expect(python.stdout).toMatch(/^llama \d+ \[1, /);
  });

  it("lets `tune prepare` train-ready a recipe whose model.base is a Hub id", async () => {
    fixture.hub.addRepo("acme/tiny-llama-cli", fixture.modelFiles);
    const dir = tempDir({
      "data.jsonl": Array.from({ length: 12 }, (_, i) =>
        JSON.stringify({ text: `example number ${i} about ${i % 2 ? "cats" : "dogs"}`, label: i % 2 ? "cat" : "dog" }),
      ).join("\n"),
      "recipe.yaml":
        "task: sequence-classification\nengine: tfjs\nmodel:\n  base: acme/tiny-llama-cli\ndata:\n  file: data.jsonl\n  labels: [cat, dog]\n",
    });
    const result = await tune(["prepare", "recipe.yaml"], {
      cwd: dir,
      env: { HF_ENDPOINT: fixture.hub.url, HF_HUB_CACHE: fixture.cache, HF_TOKEN: TOKEN },
    });
    expect(hasStackTrace(result.stderr)).toBe(false);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readdirSync(join(fixture.cache, "models--acme--tiny-llama-cli", "snapshots")).length).toBe(1);
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
  });

  it("lays a dataset out as huggingface_hub does: Python finds its files offline", async () => {
    const repo = fixture.hub.addRepo("acme/notes", shardedNotes(), { type: "dataset" });
    const train = await downloadDataset("acme/notes", "main", { split: "train" });
    const python = await execa(
      referencePython,
      [
        "-c",
        [
          "from huggingface_hub import hf_hub_download, scan_cache_dir",
          "p = hf_hub_download('acme/notes', 'data/train-00001-of-00002.parquet', repo_type='dataset', revision='main', local_files_only=True)",
          "info = scan_cache_dir()",
          "repo = [r for r in info.repos if r.repo_id == 'acme/notes'][0]",
          "print(p)",
          "print(repo.repo_type, [sorted(str(f.file_path.relative_to(r.snapshot_path)) for f in r.files) for r in repo.revisions], [sorted(r.refs) for r in repo.revisions], len(info.warnings))",
        ].join("\n"),
      ],
      { env: { HF_HUB_CACHE: fixture.cache, HF_HUB_OFFLINE: "1" }, reject: false },
    );
    expect(python.stderr).not.toMatch(/Traceback/);
    expect(python.stdout.split("\n")).toEqual([
      join(train.dir, "data/train-00001-of-00002.parquet"),
      `dataset [['data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet']] [['main']] 0`,
    ]);
    expect(train.commit).toBe(repo.branches.get("main"));
  });
});
