import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planSha256, readRunPlan, resumeRelevant } from "../../src/runs/index.js";
import { hasStackTrace, tune } from "../support/cli.js";
import { INTEGRITY } from "../support/fixture-runs.js";
import { fixturePath } from "../support/fixtures.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

// The right artifact, whole, or nothing: every verb reads checkpoints through one check, runs
// point at their own checkpoints, and one process at a time writes a run.
// The integrity fixture (test/support/fixture-runs.ts): runs/exp and runs/other, trained from
// exp.yaml (RECIPE) and other.yaml, with p.yaml, a pipeline over both, and new.csv to label.
const RECIPE = INTEGRITY.recipe;

let work: string;
let caches: string;
let env: Record<string, string>;

beforeAll(() => {
  // Read only: every test that changes anything works on a copy (copyOfRun).
  work = fixturePath("integrity");
  // The push verb never reaches the network in these tests: the checkpoint is refused first, and
  // `push --force` finds nothing listening at once, without retrying.
  caches = mkdtempSync(join(tmpdir(), "tune-integrity-"));
  env = {
    TUNE_CACHE_DIR: testCache(caches),
    HF_ENDPOINT: "http://127.0.0.1:9",
    HF_TOKEN: "hf_unused_token_0000",
    TUNE_HUB_RETRIES: "0",
  };
});

afterAll(() => rmSync(caches, { recursive: true, force: true }));

/** A copy of the trained run (and its recipe folder) to damage. */
function copyOfRun(): string {
  const dir = tempDir();
  cpSync(work, dir, { recursive: true, filter: (source) => !source.includes(`${work}/cache`) });
  return dir;
}

/** Every verb that reads a checkpoint, pointed at `target` (a run or a checkpoint folder). */
function verbs(target: string): Array<[string, string[]]> {
  return [
    ["merge", ["merge", target, "--out", "merged"]],
    ["push", ["push", target, "--repo", "someone/adapter"]],
    ["eval", ["eval", target]],
    ["predict", ["predict", target, "--in", "new.csv", "--out", "labels.csv"]],
    ["chat", ["chat", target, "--prompt", "hi"]],
  ];
}

describe("one check for every checkpoint a verb reads", () => {
  // Named as a run (its best checkpoint) in one case, as the checkpoint folder in the other.
  it.each([
    ["no MANIFEST.json", (checkpoint: string) => rmSync(join(checkpoint, "MANIFEST.json")), /no MANIFEST\.json/, false],
    [
      "an adapter whose bytes fail their sha256",
      (checkpoint: string) => {
        const file = join(checkpoint, "adapter_model.safetensors");
        const bytes = readFileSync(file);
        bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0x5a;
        writeFileSync(file, bytes);
      },
      /adapter_model\.safetensors does not match its sha256/,
      true,
    ],
  ])(
    "merge, push, eval, predict, chat, compare and pipeline refuse a checkpoint with %s: exit 2",
    async (_name, damage, why, byFolder) => {
      const dir = copyOfRun();
      const best = JSON.parse(readFileSync(join(dir, "runs/exp/best.json"), "utf8")) as { checkpoint: string };
      damage(join(dir, "runs/exp", best.checkpoint));
      const calls: Array<[string, string[]]> = [
        ...verbs(byFolder ? `runs/exp/${best.checkpoint}` : "runs/exp"),
        ["compare", ["compare", "runs/exp", "runs/other"]],
        ["pipeline", ["predict", "p.yaml", "--runs", "runs", "--in", "new.csv", "--out", "labels.csv"]],
      ];
      for (const [verb, args] of calls) {
        const result = await tune(args, { cwd: dir, env: { ...env, TUNE_CACHE_DIR: testCache(dir) } });
        expect(result.exitCode, `${verb}: ${result.stderr}`).toBe(2);
        expect(result.stderr, verb).toContain(`cannot use ${join(dir, "runs/exp", best.checkpoint)}`);
        expect(result.stderr, verb).toMatch(why);
        expect(hasStackTrace(result.stderr), verb).toBe(false);
      }
      expect(existsSync(join(dir, "merged"))).toBe(false);
      expect(existsSync(join(dir, "labels.csv"))).toBe(false);
      // push --force is the one way past it, and says what it is publishing.
      const forced = await tune(["push", "runs/exp", "--repo", "someone/adapter", "--force", "--dry-run"], {
        cwd: dir,
        env,
      });
      expect(forced.stderr).toMatch(/warning: pushing .* although it failed validation \(--force\)/);
      expect(forced.stderr).not.toContain("cannot use");
    },
    120_000,
  );

  it("refuses a checkpoint trained by another recipe that was put into this run", async () => {
    const dir = copyOfRun();
    rmSync(join(dir, "runs/exp/checkpoint-2"), { recursive: true });
    cpSync(join(dir, "runs/other/checkpoint-2"), join(dir, "runs/exp/checkpoint-2"), { recursive: true });
    const merged = await tune(["merge", "runs/exp/checkpoint-2", "--out", "merged"], { cwd: dir, env });
    expect(merged.exitCode).toBe(2);
    expect(merged.stderr).toMatch(/it was trained by another recipe than .*runs\/exp\/plan\.json/);
    expect(existsSync(join(dir, "merged"))).toBe(false);
  });

  it("takes a checkpoint recording the plan identity tune wrote before gradient_accumulation left it", async () => {
    const dir = copyOfRun();
    const plan = readRunPlan(join(dir, "runs/exp"));
    if (!plan) throw new Error("the fixture run has no plan.json");
    // What tune recorded until 2026-12-03: the same fields with the whole of training.
    const before = createHash("sha256")
      .update(JSON.stringify({ ...resumeRelevant(plan), training: plan.training }))
      .digest("hex");
    expect(before).not.toBe(planSha256(plan));
    const file = join(dir, "runs/exp/checkpoint-2/MANIFEST.json");
    const manifest = JSON.parse(readFileSync(file, "utf8")) as { provenance: { plan_sha256: string } };
    writeFileSync(file, JSON.stringify({ ...manifest, provenance: { ...manifest.provenance, plan_sha256: before } }));
    const merged = await tune(["merge", "runs/exp/checkpoint-2", "--out", "merged"], { cwd: dir, env });
    expect(merged.exitCode, merged.stderr).toBe(0);
    expect(existsSync(join(dir, "merged"))).toBe(true);
  });
});

describe("a run points at its own checkpoints", () => {
  const mergedFrom = async (dir: string, target: string) => {
    const result = await tune(["merge", target, "--out", `m-${Math.random().toString(36).slice(2)}`, "--json"], {
      cwd: dir,
      env,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    return (JSON.parse(result.stdout) as { checkpoint: string }).checkpoint;
  };

  it("after --restart the old run, moved aside, still merges its own best checkpoint; so does a copied run", async () => {
    const dir = copyOfRun();
    const best = (JSON.parse(readFileSync(join(dir, "runs/exp/best.json"), "utf8")) as { checkpoint: string })
      .checkpoint;
    expect(best).toMatch(/^checkpoint-\d+$/);
    writeFileSync(join(dir, "exp.yaml"), RECIPE.replace("lr: 0.02", "lr: 0.05"));
    const restarted = await tune(["recipe", "exp.yaml", "--out", "runs", "--restart"], { cwd: dir, env });
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    const aside = readdirSync(join(dir, "runs")).find((name) => name.startsWith("exp.old-")) as string;
    expect(readdirSync(join(dir, "runs", aside))).not.toContain("run.lock");
    expect(await mergedFrom(dir, `runs/${aside}`)).toBe(join(dir, "runs", aside, best));
    expect(await mergedFrom(dir, "runs/exp")).toMatch(new RegExp(`${join(dir, "runs/exp")}/checkpoint-\\d+$`));

    cpSync(join(dir, "runs", aside), join(dir, "runs/copied"), { recursive: true });
    expect(await mergedFrom(dir, "runs/copied")).toBe(join(dir, "runs/copied", best));
  });

  it("a best.json naming a path into another run, or an absolute one (as older versions wrote), stays inside its own run", async () => {
    const dir = copyOfRun();
    const bestFile = join(dir, "runs/exp/best.json");
    const best = JSON.parse(readFileSync(bestFile, "utf8")) as { checkpoint: string };
    for (const pointer of [`../other/${best.checkpoint}`, join(dir, "runs/other", best.checkpoint)]) {
      writeFileSync(bestFile, JSON.stringify({ ...best, checkpoint: pointer }));
      expect(await mergedFrom(dir, "runs/exp")).toBe(join(dir, "runs/exp", best.checkpoint));
    }
    writeFileSync(bestFile, JSON.stringify({ ...best, checkpoint: "../../../../etc" }));
    const refused = await tune(["merge", "runs/exp", "--out", "m"], { cwd: dir, env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(
      /best\.json is damaged: checkpoint is not what tune writes \(not a checkpoint-<step> folder\)/,
    );
  });
});

describe("state files are read as untrusted input", () => {
  it.each([
    ["best.json", "", /best\.json is damaged: it is empty/],
    ["best.json", '{"checkpoint": "checkpoint-2", "st', /best\.json is damaged: it is not valid JSON/],
    ["best.json", "[1, 2]", /best\.json is damaged: .* is not what tune writes/],
    [
      "plan.json",
      '{"plan_version": 99}',
      /plan\.json is damaged: plan_version is not what tune writes \(written by another version of tune/,
    ],
    ["plan.json", "{", /plan\.json is damaged: it is not valid JSON/],
  ])(
    "a damaged %s (%j): tune runs lists that run as unreadable and the others as they are; merge, report and push say which file, exit 2",
    async (file, content, said) => {
      const dir = copyOfRun();
      writeFileSync(join(dir, "runs/exp", file), content);
      const runs = await tune(["runs", "--out", "runs"], { cwd: dir, env });
      expect(runs.exitCode, runs.stderr).toBe(0);
      expect(runs.stdout).toMatch(/^exp\s+\?\s+unreadable/m);
      expect(runs.stdout).toMatch(/^other\s+sequence-classification\s+finished/m);
      expect(runs.stderr).toMatch(said);
      for (const args of [
        ["merge", "runs/exp", "--out", "m"],
        ["report", "runs/exp"],
        ["push", "runs/exp", "--repo", "a/b"],
      ]) {
        const result = await tune(args, { cwd: dir, env });
        expect(result.exitCode, result.stderr).toBe(2);
        expect(result.stderr).toMatch(said);
        expect(hasStackTrace(result.stderr)).toBe(false);
      }
    },
  );

  it("a torn metrics.json is judged again by the next run, and the report reads", async () => {
    const dir = copyOfRun();
    const best = (JSON.parse(readFileSync(join(dir, "runs/exp/best.json"), "utf8")) as { checkpoint: string })
      .checkpoint;
    writeFileSync(join(dir, "runs/exp", best, "metrics.json"), '{"eval": {"metr');
    // The recipe as first run (its data path is part of the plan), writing into the copy.
    const rerun = await tune(["recipe", join(work, "exp.yaml"), "--out", "runs", "--json"], {
      cwd: dir,
      env: { ...env, TUNE_CACHE_DIR: testCache(dir) },
    });
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    const judged = rerun.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; step?: number });
    expect(judged.some((e) => e.type === "eval" && `checkpoint-${e.step}` === best)).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, "runs/exp", best, "metrics.json"), "utf8"))).toHaveProperty(
      "eval.metrics.accuracy",
    );
    const report = await tune(["report", "runs/exp"], { cwd: dir, env });
    expect(report.exitCode, report.stderr).toBe(0);
  });
});

describe("one writer per run", () => {
  const lock = (dir: string) => join(dir, "runs/exp/run.lock");

  it("refuses a second tune recipe while the first trains, naming its pid and host; the first finishes as if alone", async () => {
    const dir = copyOfRun();
    writeFileSync(
      join(dir, "long.yaml"),
      RECIPE.replace("max_steps: 4", "max_steps: 400").replace("every: 2", "every: 100"),
    );
    const first = execa("node", [join(process.cwd(), "bin/tune.js"), "recipe", "long.yaml", "--out", "runs"], {
      cwd: dir,
      env: { ...env, TUNE_CACHE_DIR: testCache(dir) },
      reject: false,
    });
    let second: Awaited<ReturnType<typeof tune>> | undefined;
    const secondDone = new Promise<void>((resolve) => {
      let seen = "";
      first.stdout?.on("data", (chunk: Buffer) => {
        seen += chunk.toString();
        if (second === undefined && /^step \d+/m.test(seen)) {
          second = { exitCode: -1, stdout: "", stderr: "" };
          void tune(["recipe", "long.yaml", "--out", "runs"], {
            cwd: dir,
            env: { ...env, TUNE_CACHE_DIR: testCache(dir) },
          }).then((result) => {
            second = result;
            first.kill("SIGINT");
            resolve();
          });
        }
      });
    });
    await secondDone;
    const ended = await first;
    expect(second?.exitCode, second?.stderr).toBe(2);
    expect(second?.stderr).toContain(
      `${join(dir, "runs/long")} is in use by another tune (pid ${first.pid} on ${hostname()}`,
    );
    expect(hasStackTrace(second?.stderr ?? "")).toBe(false);
    // The first one stopped on its own signal, saved, and released the lock.
    expect(ended.exitCode, ended.stderr).toBe(130);
    expect(existsSync(join(dir, "runs/long/run.lock"))).toBe(false);
  }, 120_000);

  it("takes over a lock whose process is gone, or whose pid now belongs to another process, saying so", async () => {
    const dir = copyOfRun();
    const gone = await execa("node", ["-e", "process.stdout.write(String(process.pid))"]);
    for (const owner of [
      { pid: Number(gone.stdout), host: hostname(), started: "2026-01-01T00:00:00.000Z", since: null },
      { pid: process.pid, host: hostname(), started: "2026-01-01T00:00:00.000Z", since: 1 },
    ]) {
      writeFileSync(lock(dir), JSON.stringify(owner));
      const rerun = await tune(["recipe", join(work, "exp.yaml"), "--out", "runs"], {
        cwd: dir,
        env: { ...env, TUNE_CACHE_DIR: testCache(dir) },
      });
      expect(rerun.exitCode, rerun.stderr).toBe(0);
      expect(rerun.stderr).toContain(
        `warning: took over run.lock of pid ${owner.pid} on ${hostname()}, started 2026-01-01T00:00:00.000Z, which is no longer running`,
      );
      expect(existsSync(lock(dir))).toBe(false);
    }
  });

  it("refuses a lock held on another machine, and tune eval while a run trains", async () => {
    const dir = copyOfRun();
    writeFileSync(
      lock(dir),
      JSON.stringify({ pid: 4242, host: "gpu-node-7", started: "2026-01-01T00:00:00.000Z", since: null }),
    );
    for (const args of [
      ["recipe", "exp.yaml", "--out", "runs"],
      ["eval", "runs/exp"],
    ]) {
      const refused = await tune(args, { cwd: dir, env: { ...env, TUNE_CACHE_DIR: testCache(dir) } });
      expect(refused.exitCode, refused.stderr).toBe(2);
      expect(refused.stderr).toContain("is in use by another tune (pid 4242 on gpu-node-7");
      expect(refused.stderr).toContain(`delete ${lock(dir)}`);
    }
    expect(JSON.parse(readFileSync(lock(dir), "utf8"))).toMatchObject({ host: "gpu-node-7" });
    const runs = await tune(["runs", "--out", "runs"], { cwd: dir, env });
    expect(runs.stdout).toMatch(/^exp\s+sequence-classification\s+running/m);
  });
});

describe("the disk under a run, and tune's cache, turning read-only", () => {
  /**
   * Runs a shell script in its own mount namespace (unshare, as root or as a user with user
   * namespaces), so a tmpfs can be mounted and remounted read-only mid-run without touching
   * the machine's mounts.
   */
  async function inMountNamespace(script: string, cwd: string) {
    return execa("unshare", ["--user", "--map-root-user", "--mount", "bash", "-c", script], {
      cwd,
      reject: false,
      env: { ...process.env, ...env, TUNE: join(process.cwd(), "bin/tune.js") },
    });
  }

  it("EROFS mid-run: exit 4 naming the run directory and the intact checkpoint; writable again, the same command resumes", async () => {
    const dir = copyOfRun();
    writeFileSync(
      join(dir, "slow.yaml"),
      RECIPE.replace("max_steps: 4", "max_steps: 60").replace("every: 2", "every: 10"),
    );
    const script = [
      "set -u; mkdir -p mnt; mount -t tmpfs tmpfs mnt",
      'node "$TUNE" recipe slow.yaml --out mnt > first.out 2> first.err & pid=$!',
      "until grep -q '^checkpoint .*checkpoint-10' first.out 2>/dev/null; do sleep 0.05; done",
      "until mount -o remount,ro mnt 2>/dev/null; do sleep 0.01; done",
      'wait $pid; echo "first=$?"',
      "mount -o remount,rw mnt",
      'node "$TUNE" recipe slow.yaml --out mnt > second.out 2> second.err; echo "second=$?"',
      "ls mnt/slow > listing",
    ].join("\n");
    const result = await inMountNamespace(script, dir);
    expect(result.stderr).toBe("");
    const firstErr = readFileSync(join(dir, "first.err"), "utf8");
    expect(result.stdout).toContain("first=4");
    expect(firstErr).toMatch(/cannot write the run directory .*mnt\/slow: the file system is read-only/);
    expect(firstErr).toMatch(/The last complete checkpoint, .*mnt\/slow\/checkpoint-\d+, is intact\./);
    expect(hasStackTrace(firstErr)).toBe(false);
    expect(result.stdout, readFileSync(join(dir, "second.err"), "utf8")).toContain("second=0");
    expect(readFileSync(join(dir, "second.out"), "utf8")).toMatch(/^resuming slow from .*checkpoint-\d+/m);
    expect(readFileSync(join(dir, "listing"), "utf8")).toContain("checkpoint-60");
  }, 120_000);

  it("a read-only TUNE_CACHE_DIR: exit 4 naming the cache and TUNE_CACHE_DIR", async () => {
    const dir = copyOfRun();
    const script = [
      "mkdir -p ro; mount -t tmpfs -o ro tmpfs ro",
      'TUNE_CACHE_DIR="$PWD/ro" node "$TUNE" recipe exp.yaml --out fresh 2> err; echo "code=$?"',
    ].join("\n");
    const result = await inMountNamespace(script, dir);
    expect(result.stdout).toContain("code=4");
    const err = readFileSync(join(dir, "err"), "utf8");
    expect(err).toMatch(/cannot write tune's cache in .*\/ro: the file system is read-only/);
    expect(err).toContain("set TUNE_CACHE_DIR to a writable folder");
    expect(hasStackTrace(err)).toBe(false);
  });
});

describe("adapters and model folders from elsewhere are input like any other", () => {
  it("an adapter folder whose adapter_config.json is not JSON, or lacks a rank, is named: exit 2", async () => {
    const dir = copyOfRun();
    const best = (JSON.parse(readFileSync(join(dir, "runs/exp/best.json"), "utf8")) as { checkpoint: string })
      .checkpoint;
    cpSync(join(dir, "runs/exp", best), join(dir, "peft-adapter"), { recursive: true });
    rmSync(join(dir, "peft-adapter/MANIFEST.json"));
    const config = JSON.parse(readFileSync(join(dir, "peft-adapter/adapter_config.json"), "utf8")) as Record<
      string,
      unknown
    >;
    for (const [broken, said] of [
      ['{"r": 4, "lora_alpha": ', /adapter_config\.json is damaged: it is not valid JSON/],
      [JSON.stringify({ ...config, r: "four" }), /adapter_config\.json is damaged: r is not what tune writes/],
    ] as const) {
      writeFileSync(join(dir, "peft-adapter/adapter_config.json"), broken);
      const merged = await tune(["merge", "peft-adapter", "--out", "m", "--base", "builtin:tiny-llama"], {
        cwd: dir,
        env,
      });
      expect(merged.exitCode, merged.stderr).toBe(2);
      expect(merged.stderr).toMatch(said);
      expect(hasStackTrace(merged.stderr)).toBe(false);
    }
  });

  it("a model folder whose config.json names more layers than its weights hold: exit 2, naming the missing weight", async () => {
    const dir = copyOfRun();
    const { tinyLlamaDir } = await import("../../src/builtin/index.js");
    cpSync(tinyLlamaDir(join(dir, "builtin")), join(dir, "model"), { recursive: true });
    const config = JSON.parse(readFileSync(join(dir, "model/config.json"), "utf8")) as { num_hidden_layers: number };
    writeFileSync(
      join(dir, "model/config.json"),
      JSON.stringify({ ...config, num_hidden_layers: config.num_hidden_layers + 1 }),
    );
    writeFileSync(join(dir, "m.yaml"), RECIPE.replace("builtin:tiny-llama", "./model"));
    const run = await tune(["recipe", "m.yaml", "--out", "runs"], {
      cwd: dir,
      env: { ...env, TUNE_CACHE_DIR: testCache(dir) },
    });
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr).toMatch(
      new RegExp(`the weights in .*model have no model\\.layers\\.${config.num_hidden_layers}\\.`),
    );
    expect(hasStackTrace(run.stderr)).toBe(false);
  });
});
