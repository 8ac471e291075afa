import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { downloadFile } from "@huggingface/hub";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { startFakeHub, type FakeHub } from "../support/hub-server.js";
import { hasStackTrace, tune } from "../support/cli.js";
import { NOTES } from "../support/fixture-runs.js";
import { fixtureCopy } from "../support/fixtures.js";
import { testCache } from "../support/test-cache.js";

const TOKEN = "hf_writer_secret_4242";
const RECIPE = NOTES.recipe;

let hub: FakeHub;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  hub = await startFakeHub();
  hub.tokens.set(TOKEN, "tester");
  hub.tokens.set("hf_other_user", "someone-else");
  // The notes fixture (runs/cls, and runs/gated, whose gates fail), copied once and shared by
  // every test of this file (tempDir folders go after each test).
  work = fixtureCopy("notes", {}, mkdtempSync(join(tmpdir(), "tune-push-")));
  env = {
    TUNE_CACHE_DIR: testCache(work),
    HF_ENDPOINT: hub.url,
    HF_TOKEN: TOKEN,
    HF_HOME: join(work, "hf-home"),
    TUNE_HUB_BACKOFF_MS: "5",
  };
});

afterAll(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  hub.faults.length = 0;
  hub.requests.length = 0;
});

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) =>
    statSync(join(dir, name)).isDirectory() ? allFiles(join(dir, name)) : [join(dir, name)],
  );
}

describe("tune push", () => {
  it("publishes the best adapter with a model card, downloads back byte for byte, and re-pushing makes no commit", async () => {
    const pushed = await tune(["push", "runs/cls", "--repo", "tester/cls-adapter", "--json"], { cwd: work, env });
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    const result = JSON.parse(pushed.stdout) as {
      checkpoint: string;
      commit: string;
      created: boolean;
      uploaded: string[];
    };
    // best.json names the checkpoint relative to its run.
    const best = join(
      work,
      "runs/cls",
      (JSON.parse(readFileSync(join(work, "runs/cls/best.json"), "utf8")) as { checkpoint: string }).checkpoint,
    );
    expect(result.checkpoint).toBe(best);
    expect(result.created).toBe(true);
    expect(result.uploaded.sort()).toEqual(["README.md", "adapter_config.json", "adapter_model.safetensors"]);
    const repo = hub.repos.get("tester/cls-adapter");
    expect(repo?.private).toBe(false);
    expect(repo?.branches.get("main")).toBe(result.commit);
    expect([...hub.head("tester/cls-adapter").keys()].sort()).toEqual([
      ".gitattributes",
      "README.md",
      "adapter_config.json",
      "adapter_model.safetensors",
    ]);
    expect(hub.head("tester/cls-adapter").get("adapter_model.safetensors")?.lfs).toBe(true);
    // The LFS upload went to storage, another origin, without the token; the Hub's own requests carried it.
    const uploads = hub.requests.filter((r) => r.origin === hub.storageUrl);
    expect(uploads.map((r) => r.method)).toContain("PUT");
    expect(uploads.every((r) => r.authorization === undefined)).toBe(true);
    expect(hub.requests.filter((r) => r.origin === hub.url).every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(
      true,
    );

    for (const name of ["adapter_config.json", "adapter_model.safetensors"]) {
      const blob = await downloadFile({ repo: "tester/cls-adapter", path: name, hubUrl: hub.url, accessToken: TOKEN });
      expect(Buffer.from(await (blob as Blob).arrayBuffer()).equals(readFileSync(join(best, name))), name).toBe(true);
    }

    const card = hub.head("tester/cls-adapter").get("README.md")?.bytes.toString() as string;
    const front = parse(card.split("---")[1] as string) as Record<string, unknown>;
    expect(front).toMatchObject({ library_name: "peft", pipeline_tag: "text-classification" });
    expect(front.tags).toEqual(expect.arrayContaining(["lora", "tune"]));
    const metrics = JSON.parse(readFileSync(join(best, "metrics.json"), "utf8")) as {
      eval: { metrics: { accuracy: number } };
    };
    const index = front["model-index"] as Array<{
      results: Array<{ dataset: { split: string }; metrics: Array<{ type: string; value: number }> }>;
    }>;
    const evalResult = index[0]?.results.find((r) => r.dataset.split === "eval");
    expect(evalResult?.metrics.find((m) => m.type === "accuracy")?.value).toBeCloseTo(metrics.eval.metrics.accuracy, 4);
    expect(card).toContain("| 0 | good |");
    expect(card).toContain('PeftModel.from_pretrained(base, "tester/cls-adapter")');
    expect(card).toContain("## Framework versions");

    const commits = repo?.commits.length;
    hub.requests.length = 0;
    const again = await tune(["push", "runs/cls", "--repo", "tester/cls-adapter"], { cwd: work, env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain("nothing to commit");
    expect(repo?.commits.length).toBe(commits);
    expect(hub.requests.some((r) => r.path.includes("/commit/"))).toBe(false);

    // The token is nowhere in the output or the run directory.
    expect(pushed.stdout + pushed.stderr + again.stdout + again.stderr).not.toContain(TOKEN);
    for (const file of allFiles(join(work, "runs"))) expect(readFileSync(file).includes(TOKEN), file).toBe(false);
  });

  it("retries 500s, 429s and dropped connections and still makes exactly one commit", async () => {
    hub.faults.push(
      { route: /preupload/, kind: "500", times: 2 },
      { route: /lfs\/objects\/batch/, kind: "429", times: 1 },
      { route: /^PUT \/lfs-upload/, kind: "drop", times: 1 },
      { route: /\/commit\//, kind: "500", times: 1 },
      { route: /whoami/, kind: "drop", times: 1 },
    );
    const pushed = await tune(["push", "runs/cls/checkpoint-2", "--repo", "tester/flaky", "--private"], {
      cwd: work,
      env,
    });
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    expect(hub.faults.every((f) => f.times === 0)).toBe(true);
    const repo = hub.repos.get("tester/flaky");
    expect(repo?.private).toBe(true);
    expect(repo?.commits.map((c) => c.title)).toEqual(["initial commit", "Adapter from cls (step 2)"]);
    expect(
      hub
        .head("tester/flaky")
        .get("adapter_model.safetensors")
        ?.bytes.equals(readFileSync(join(work, "runs/cls/checkpoint-2/adapter_model.safetensors"))),
    ).toBe(true);
  });

  it("leaves the remote at its previous commit when a push cannot complete, and says what to re-run", async () => {
    const first = await tune(["push", "runs/cls/checkpoint-2", "--repo", "tester/atomic"], { cwd: work, env });
    expect(first.exitCode, first.stderr).toBe(0);
    const before = hub.repos.get("tester/atomic")?.branches.get("main") as string;
    hub.faults.push({ route: /\/commit\//, kind: "500", times: 100 });
    const failed = await tune(["push", "runs/cls/checkpoint-4", "--repo", "tester/atomic"], {
      cwd: work,
      env: { ...env, TUNE_HUB_RETRIES: "2" },
    });
    expect(failed.exitCode).toBe(4);
    expect(failed.stderr).toContain(`tester/atomic@main is unchanged (still at ${before.slice(0, 12)})`);
    expect(failed.stderr).toContain("Running the same command again resumes");
    expect(hasStackTrace(failed.stderr)).toBe(false);
    expect(hub.repos.get("tester/atomic")?.branches.get("main")).toBe(before);
    expect(
      hub
        .head("tester/atomic")
        .get("adapter_model.safetensors")
        ?.bytes.equals(readFileSync(join(work, "runs/cls/checkpoint-2/adapter_model.safetensors"))),
    ).toBe(true);

    hub.faults.length = 0;
    const retried = await tune(["push", "runs/cls/checkpoint-4", "--repo", "tester/atomic"], { cwd: work, env });
    expect(retried.exitCode, retried.stderr).toBe(0);
    expect(
      hub
        .head("tester/atomic")
        .get("adapter_model.safetensors")
        ?.bytes.equals(readFileSync(join(work, "runs/cls/checkpoint-4/adapter_model.safetensors"))),
    ).toBe(true);
  });

  it("explains a wrong token, a missing token, a repo of someone else, and reads the token file", async () => {
    const wrong = await tune(["push", "runs/cls", "--repo", "tester/x"], {
      cwd: work,
      env: { ...env, HF_TOKEN: "hf_not_a_real_token" },
    });
    expect(wrong.exitCode).toBe(4);
    expect(wrong.stderr).toContain("the Hub rejected the token from HF_TOKEN");
    expect(wrong.stderr).not.toContain("hf_not_a_real_token");
    const none = await tune(["push", "runs/cls", "--repo", "tester/x"], { cwd: work, env: { ...env, HF_TOKEN: "" } });
    expect(none.exitCode).toBe(4);
    expect(none.stderr).toContain("needs a Hugging Face token with write access");
    const other = await tune(["push", "runs/gated", "--force", "--repo", "tester/cls-adapter"], {
      cwd: work,
      env: { ...env, HF_TOKEN: "hf_other_user" },
    });
    expect(other.exitCode).toBe(4);
    expect(other.stderr).toMatch(/write access|rights/);
    for (const result of [wrong, none, other]) expect(hasStackTrace(result.stderr)).toBe(false);

    mkdirSync(join(work, "hf-home"), { recursive: true });
    writeFileSync(join(work, "hf-home", "token"), `${TOKEN}\n`);
    const fromFile = await tune(["push", "runs/cls", "--repo", "tester/from-token-file"], {
      cwd: work,
      env: { ...env, HF_TOKEN: "" },
    });
    expect(fromFile.exitCode, fromFile.stderr).toBe(0);
    expect(hub.repos.has("tester/from-token-file")).toBe(true);
  });

  it("refuses a checkpoint that failed its gates unless --force; --dry-run changes nothing; --revision makes a branch", async () => {
    const refused = await tune(["push", "runs/gated", "--repo", "tester/gated"], { cwd: work, env });
    expect(refused.exitCode).toBe(3);
    expect(refused.stderr).toContain("failed its gates");
    expect(refused.stderr).toContain("--force");
    expect(hub.repos.has("tester/gated")).toBe(false);

    const dry = await tune(["push", "runs/gated", "--repo", "tester/gated", "--force", "--dry-run"], {
      cwd: work,
      env,
    });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("upload: adapter_config.json, adapter_model.safetensors, README.md");
    expect(hub.repos.has("tester/gated")).toBe(false);

    const forced = await tune(
      ["push", "runs/gated", "--repo", "tester/gated", "--force", "--revision", "experiments"],
      { cwd: work, env },
    );
    expect(forced.exitCode, forced.stderr).toBe(0);
    const repo = hub.repos.get("tester/gated");
    expect(repo?.branches.has("experiments")).toBe(true);
    expect(hub.head("tester/gated", "experiments").has("adapter_model.safetensors")).toBe(true);
    expect(hub.head("tester/gated", "main").has("adapter_model.safetensors")).toBe(false);
    expect(hub.head("tester/gated", "experiments").get("README.md")?.bytes.toString()).toContain("FAILED");
  });

  it("pushes the merged model: weights, classifier config, tokenizer and a transformers model card", async () => {
    const pushed = await tune(["push", "runs/cls", "--repo", "tester/cls-merged", "--merged", "--dtype", "bf16"], {
      cwd: work,
      env,
    });
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    const files = hub.head("tester/cls-merged");
    expect([...files.keys()]).toEqual(
      expect.arrayContaining(["config.json", "model.safetensors", "tokenizer.json", "README.md"]),
    );
    expect(JSON.parse(files.get("config.json")?.bytes.toString() as string)).toMatchObject({
      architectures: ["LlamaForSequenceClassification"],
      dtype: "bfloat16",
    });
    expect(files.get("README.md")?.bytes.toString()).toContain("library_name: transformers");
    expect(readdirSync(join(work, "runs/cls")).some((name) => name.startsWith(".merge-for-push-"))).toBe(false);
  });
});

describe("the recipe's hub and merge sections", () => {
  it("merges the best checkpoint and pushes it at the end of the run, and pushes every checkpoint with when: every", async () => {
    writeFileSync(join(work, "auto.yaml"), `${RECIPE}hub: {repo: tester/auto, when: best}\nmerge: {dtype: float32}\n`);
    const run = await tune(["recipe", "auto.yaml", "--out", "runs"], { cwd: work, env });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/merged .*checkpoint-\d+ into .*runs\/auto\/merged/);
    expect(run.stdout).toMatch(/pushed .*checkpoint-\d+ to .*tester\/auto/);
    expect(existsSync(join(work, "runs/auto/merged/model.safetensors"))).toBe(true);
    expect(hub.repos.get("tester/auto")?.private).toBe(true);
    const commits = hub.repos.get("tester/auto")?.commits.length;

    const again = await tune(["recipe", "auto.yaml", "--out", "runs"], { cwd: work, env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain("merged model already in");
    expect(again.stdout).toContain("nothing to commit");
    expect(hub.repos.get("tester/auto")?.commits.length).toBe(commits);

    writeFileSync(join(work, "every.yaml"), `${RECIPE}hub: {repo: tester/every, when: every, private: false}\n`);
    const every = await tune(["recipe", "every.yaml", "--out", "runs", "--json"], { cwd: work, env });
    expect(every.exitCode, every.stderr).toBe(0);
    const pushes = every.stdout.split("\n").filter((line) => line.includes('"type":"pushed"'));
    expect(pushes.length).toBeGreaterThanOrEqual(3);
    expect(hub.repos.get("tester/every")?.commits.map((c) => c.title)).toEqual(
      expect.arrayContaining(["Adapter from every (step 2)", "Adapter from every (step 4)"]),
    );

    writeFileSync(join(work, "notoken.yaml"), `${RECIPE}hub: {repo: tester/never}\n`);
    const refused = await tune(["recipe", "notoken.yaml", "--out", "runs"], {
      cwd: work,
      env: { ...env, HF_TOKEN: "", HF_HOME: join(work, "no-login") },
    });
    expect(refused.exitCode).toBe(4);
    expect(refused.stderr).toContain("no Hugging Face token was found");
    expect(existsSync(join(work, "runs/notoken"))).toBe(false);
  }, 120_000);
});
