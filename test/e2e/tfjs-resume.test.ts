import { existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { unsafeUniformIntDistribution } from "pure-rand";
import { writeManifest } from "../../src/checkpoint/index.js";
import { seededRandom } from "../../src/data/index.js";
import { runRecipe } from "../../src/index.js";
import { trainTfjs } from "../../src/engine/tfjs/index.js";
import { ROOT, hasStackTrace, signalWhen, tune } from "../support/cli.js";
import { planFor, preparedFor } from "../support/plan.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

const DATA = `text,label\n${Array.from({ length: 32 }, (_, i) => `"review ${i}: ${["great value", "broke quickly", "works well", "waste of money"][i % 4]}",${i % 2 ? "negative" : "positive"}`).join("\n")}\n`;
const RECIPE = (steps: number) =>
  `task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8, dropout: 0.1}\ndata: {train: d.csv, labels: [positive, negative]}\ntraining: {max_steps: ${steps}, batch_size: 8, lr: 0.01, logging_steps: 1, warmup_steps: 2}\ncheckpoints: {every: 2, keep: 10}\neval: {splits: [train]}\n`;

const bytes = (checkpoint: string, file: string) => readFileSync(join(checkpoint, file));

describe("exact resume on the tfjs engine", () => {
  it("N steps straight equal N/2, stop, resume, N/2 — bit for bit, optimizer state included", async () => {
    const cache = testCache(tempDir());
    const straight = await preparedFor((await planFor(RECIPE(8), { "d.csv": DATA })).plan, cache);
    const full = await trainTfjs(straight.plan, straight.modelDir, straight.prepared, {
      backend: "cpu",
      emit: () => {},
    });

    const split = await preparedFor((await planFor(RECIPE(8), { "d.csv": DATA })).plan, cache);
    let steps = 0;
    const first = await trainTfjs(split.plan, split.modelDir, split.prepared, {
      backend: "cpu",
      emit: (e) => void (e.type === "step" && steps++),
      shouldStop: () => steps >= 3,
    });
    expect(first).toMatchObject({ stopped: true, step: 3 });
    const resumed = await trainTfjs(split.plan, split.modelDir, split.prepared, {
      backend: "cpu",
      emit: () => {},
      resumeFrom: first.checkpoint,
    });
    expect(resumed).toMatchObject({ stopped: false, step: 8 });

    for (const file of ["adapter_model.safetensors", "optimizer.safetensors"]) {
      expect(bytes(resumed.checkpoint, file).equals(bytes(full.checkpoint, file)), file).toBe(true);
    }
    const history = (dir: string) =>
      (JSON.parse(readFileSync(join(dir, "trainer_state.json"), "utf8")) as { log_history: unknown[] }).log_history;
    expect(history(resumed.checkpoint)).toEqual(history(full.checkpoint));
  }, 180_000);

  it("Ctrl-C saves a checkpoint and exits 130; re-running resumes to the same adapter as an uninterrupted run", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE(40), "d.csv": DATA });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    const reference = await tune(["recipe", "exp.yaml", "--out", "straight"], { cwd: dir, env });
    expect(reference.exitCode).toBe(0);

    const child = execa("node", [join(ROOT, "bin/tune.js"), "recipe", "exp.yaml", "--out", "runs"], {
      cwd: dir,
      env,
      reject: false,
    });
    signalWhen(child, /^step 5 /m, "SIGINT");
    const stopped = await child;
    expect(stopped.exitCode).toBe(130);
    expect(stopped.stdout).toMatch(/stopped at step \d+; saved .*checkpoint-\d+; run the same command again to resume/);
    expect(hasStackTrace(stopped.stderr)).toBe(false);

    const resumed = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir, env });
    expect(resumed.exitCode).toBe(0);
    expect(resumed.stdout.split("\n")[0]).toMatch(/^resuming exp from .*checkpoint-\d+ \(step \d+\)$/);
    const final = (root: string) => join(dir, root, "exp", "checkpoint-40");
    expect(
      bytes(final("runs"), "adapter_model.safetensors").equals(bytes(final("straight"), "adapter_model.safetensors")),
    ).toBe(true);
  }, 180_000);

  it("a stop asked for after the last step stops there too: nothing judged last, picked or published until the re-run", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE(4), "d.csv": DATA });
    const options = { out: join(dir, "runs"), cacheRoot: testCache(dir) };
    const runDir = join(dir, "runs", "exp");
    let ended = false;
    const stopped = await runRecipe(join(dir, "exp.yaml"), {
      ...options,
      onEvent: (event) => void (event.type === "end" && (ended = true)),
      shouldStop: () => ended,
    });
    expect(stopped).toMatchObject({ stopped: true, selection: null, checkpoint: join(runDir, "checkpoint-4") });
    const events = () =>
      readFileSync(join(runDir, "events.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { type: string; step?: number });
    expect(events().at(-1)).toMatchObject({ type: "stopped", step: 4 });
    expect(events().some((event) => event.type === "best")).toBe(false);
    expect(existsSync(join(runDir, "report.html"))).toBe(false);

    const resumed = await runRecipe(join(dir, "exp.yaml"), options);
    expect(resumed.stopped).toBe(false);
    expect(resumed.selection?.best?.dir).toMatch(/checkpoint-\d+$/);
    expect(existsSync(join(runDir, "report.html"))).toBe(true);
  }, 120_000);

  const damages: Array<[string, (checkpoint: string) => void, string]> = [
    [
      "a flipped byte",
      (checkpoint) => {
        const file = join(checkpoint, "adapter_model.safetensors");
        const data = readFileSync(file);
        data.writeUInt8(data.readUInt8(data.length - 1) ^ 0xff, data.length - 1);
        writeFileSync(file, data);
      },
      "adapter_model.safetensors does not match its sha256",
    ],
    [
      "a truncated file",
      (checkpoint) => truncateSync(join(checkpoint, "optimizer.safetensors"), 100),
      "optimizer.safetensors has 100 bytes",
    ],
    [
      "a missing manifest",
      (checkpoint) => rmSync(join(checkpoint, "MANIFEST.json")),
      "no MANIFEST.json (the write was interrupted)",
    ],
    [
      "a NaN behind a valid manifest",
      (checkpoint) => {
        const file = join(checkpoint, "adapter_model.safetensors");
        const data = readFileSync(file);
        data.writeFloatLE(Number.NaN, data.length - 4);
        writeFileSync(file, data);
        writeManifest(checkpoint, { step: 6 });
      },
      "holds a non-finite value (NaN)",
    ],
  ];
  it.each(damages)(
    "a newest checkpoint with %s is reported and skipped; the run resumes from the one before",
    async (_, damage, why) => {
      const dir = tempDir({ "exp.yaml": RECIPE(6), "d.csv": DATA });
      const env = { TUNE_CACHE_DIR: testCache(dir) };
      await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir, env });
      damage(join(dir, "runs/exp/checkpoint-6"));
      const again = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir, env });
      expect(again.exitCode).toBe(0);
      expect(again.stderr).toContain(`warning: skipped ${join(dir, "runs/exp/checkpoint-6")}: `);
      expect(again.stderr).toContain(why);
      expect(again.stdout.split("\n")[0]).toBe(`resuming exp from ${join(dir, "runs/exp/checkpoint-4")} (step 4)`);
      expect(again.stdout).toMatch(/^step 6 /m);
    },
    180_000,
  );

  it("SIGKILL at ten random moments, a re-run after each: the run finishes with the adapter of an uninterrupted run, bit for bit", async () => {
    const recipe = RECIPE(24)
      .replace("checkpoints: {every: 2, keep: 10}", "checkpoints: {every: 1, keep: 2}")
      .replace("eval: {splits: [train]}", "eval: {splits: [train], best_metric: loss}");
    const dir = tempDir({ "exp.yaml": recipe, "d.csv": DATA });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    const reference = await tune(["recipe", "exp.yaml", "--out", "straight"], { cwd: dir, env });
    expect(reference.exitCode).toBe(0);
    const random = seededRandom(2026);
    let killedWhileTraining = 0;
    for (let kill = 0; kill < 10; kill++) {
      const child = execa("node", [join(ROOT, "bin/tune.js"), "recipe", "exp.yaml", "--out", "runs", "--json"], {
        cwd: dir,
        env,
        reject: false,
      });
      // Kill once the run has trained a few more steps: a random number of step events (0-4)
      // plus a random delay, so kills land in steps, checkpoint writes and evaluation alike.
      const steps = unsafeUniformIntDistribution(0, 4, random);
      const delay = unsafeUniformIntDistribution(0, 40, random);
      let seen = 0;
      child.stdout?.on("data", (chunk: Buffer) => {
        seen += (chunk.toString().match(/"type":"step"/g) ?? []).length;
        if (seen >= steps) setTimeout(() => child.kill("SIGKILL"), delay);
      });
      const result = await child;
      if (result.signal === "SIGKILL") killedWhileTraining++;
    }
    expect(killedWhileTraining).toBeGreaterThanOrEqual(8);
    const finished = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir, env });
    expect(finished.exitCode, finished.stderr).toBe(0);
    const final = (root: string) => join(dir, root, "exp", "checkpoint-24");
    expect(
      bytes(final("runs"), "adapter_model.safetensors").equals(bytes(final("straight"), "adapter_model.safetensors")),
    ).toBe(true);
    const best = (root: string) =>
      JSON.parse(readFileSync(join(dir, root, "exp", "best.json"), "utf8").replaceAll(`/${root}/`, "/")) as unknown;
    expect(best("runs")).toEqual(best("straight"));
    // Nothing half-written is left behind.
    expect(readdirSync(join(dir, "runs", "exp")).filter((name) => /\.(tmp|replaced)-/.test(name))).toEqual([]);
  }, 300_000);
});
