import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { execa } from "execa";
import { unsafeUniformIntDistribution } from "pure-rand";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../src/data/index.js";
import { bridgeCommand } from "../../src/engine/torch/index.js";
import { openSafetensors } from "../../src/adapter/index.js";
import { ROOT, hasStackTrace, signalWhen, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";
import { referencePython } from "../support/reference-python.js";
import { testCache } from "../support/test-cache.js";

const DATA = `text,label\n${Array.from({ length: 48 }, (_, i) => `"review ${i}: ${["great value", "broke quickly", "works well", "waste of money"][i % 4]}",${i % 2 ? "negative" : "positive"}`).join("\n")}\n`;
const RECIPE = (engine: string, extra = "") =>
  `name: exp\ntask: sequence-classification\nengine: ${engine}\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8, dropout: 0}\ndata: {file: d.csv, labels: [positive, negative], split: {eval: 0.25, seed: 3}}\ntraining: {max_steps: 12, batch_size: 4, gradient_accumulation: 2, lr: 0.005, warmup_steps: 2, logging_steps: 1}\ncheckpoints: {every: 4, keep: 5}\n${extra}`;

interface Event {
  type: string;
  step?: number;
  loss?: number;
  engine?: string;
  split?: string;
  metrics?: Record<string, number>;
}

/** Every float32 tensor of a safetensors file, flattened. */
function float32Tensors(file: string): Record<string, Float32Array> {
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const { __metadata__: _, ...header } = JSON.parse(bytes.subarray(8, 8 + headerLength).toString()) as Record<
    string,
    { dtype: string; data_offsets: [number, number] }
  >;
  const tensors: Record<string, Float32Array> = {};
  for (const [
    name,
    {
      dtype,
      data_offsets: [from, to],
    },
  ] of Object.entries(header))
    if (dtype === "F32")
      tensors[name] = new Float32Array(
        new Uint8Array(bytes.subarray(8 + headerLength + from, 8 + headerLength + to)).buffer,
      );
  return tensors;
}

/** A TCP port nothing listens on now, for a rendezvous. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

async function run(dir: string, out: string, recipe = "exp.yaml", extra: string[] = []) {
  const result = await tune(["recipe", recipe, "--out", out, "--json", ...extra], {
    cwd: dir,
    env: { TUNE_CACHE_DIR: testCache(dir) },
  });
  const events =
    result.stdout.trim() === ""
      ? []
      : result.stdout
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as Event);
  return { ...result, events };
}

describe("the torch engine (python-bridge on PyTorch, transformers and PEFT)", () => {
  it("trains, checkpoints in the shared format and is judged like the tfjs engine — and both engines' losses agree step for step", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE("torch"), "tfjs.yaml": RECIPE("tfjs"), "d.csv": DATA });
    const torch = await run(dir, "torch-runs");
    expect(torch.exitCode, torch.stderr).toBe(0);
    expect(torch.events[0]).toMatchObject({ type: "start", engine: "torch", backend: "cpu", total_steps: 12 });
    const checkpoint = join(dir, "torch-runs/exp/checkpoint-12");
    expect(readdirSync(checkpoint).sort()).toEqual([
      "MANIFEST.json",
      "README.md",
      "adapter_config.json",
      "adapter_model.safetensors",
      "metrics.json",
      "optimizer.pt",
      "predictions",
      "rng_state.safetensors",
      "scheduler.pt",
      "trainer_state.json",
    ]);
    const manifest = JSON.parse(readFileSync(join(checkpoint, "MANIFEST.json"), "utf8")) as {
      step: number;
      provenance: { engine: { name: string }; dataset_key: string };
    };
    expect(manifest.step).toBe(12);
    expect(manifest.provenance.engine.name).toBe("torch");
    expect(torch.events.filter((e) => e.type === "eval").map((e) => `${e.step}:${e.split}`)).toEqual([
      "4:eval",
      "4:test",
      "8:eval",
      "8:test",
      "12:eval",
      "12:test",
    ]);
    expect(torch.events.at(-1)).toMatchObject({ type: "best", passed: true });

    const tfjs = await run(dir, "tfjs-runs", "tfjs.yaml");
    expect(tfjs.exitCode, tfjs.stderr).toBe(0);
    const losses = (events: Event[]) => events.flatMap((e) => (e.type === "step" ? [e.loss as number] : []));
    // Same initial adapter, same batches, same schedule and loss normalisation: the curves agree to float noise.
    expect(losses(torch.events)).toHaveLength(12);
    losses(torch.events).forEach((loss, i) =>
      expect(Math.abs(loss - (losses(tfjs.events)[i] as number))).toBeLessThan(1e-4),
    );
    const metrics = (events: Event[]) => events.filter((e) => e.type === "eval").map((e) => e.metrics?.accuracy);
    expect(metrics(torch.events)).toEqual(metrics(tfjs.events));
    // Both engines write the Trainer's trainer_state.json, key for key.
    const stateKeys = (root: string) =>
      Object.keys(JSON.parse(readFileSync(join(dir, root, "exp/checkpoint-12/trainer_state.json"), "utf8"))).sort();
    expect(stateKeys("torch-runs")).toEqual(stateKeys("tfjs-runs"));
    expect(stateKeys("torch-runs")).toContain("log_history");

    // Only the engine that wrote a checkpoint resumes it.
    for (const root of ["torch-runs", "tfjs-runs"])
      for (const step of [8, 12]) rmSync(join(dir, root, `exp/checkpoint-${step}`), { recursive: true });
    const env = { TUNE_CACHE_DIR: join(dir, "cache"), TUNE_PYTHON: join(dir, "no-python") };
    const torchMissing = await tune(["recipe", "exp.yaml", "--out", "torch-runs", "--engine", "auto"], {
      cwd: dir,
      env,
    });
    expect(torchMissing.exitCode, torchMissing.stderr).toBe(4);
    expect(torchMissing.stderr).toMatch(/checkpoint-4 was written by the torch engine, which cannot run here/);
    expect(torchMissing.stderr).toMatch(/tune setup python/);
    expect(hasStackTrace(torchMissing.stderr)).toBe(false);
    const otherEngine = await tune(["recipe", "exp.yaml", "--out", "torch-runs", "--engine", "tfjs"], {
      cwd: dir,
      env: { TUNE_CACHE_DIR: join(dir, "cache") },
    });
    expect(otherEngine.exitCode, otherEngine.stderr).toBe(2);
    expect(otherEngine.stderr).toMatch(/written by the torch engine, but the recipe asks for tfjs/);
    expect(readdirSync(join(dir, "torch-runs/exp")).filter((name) => name.startsWith("checkpoint-"))).toEqual([
      "checkpoint-4",
    ]);
    // A tfjs-written run on `auto` stays on tfjs even where the torch engine works.
    const followed = await run(dir, "tfjs-runs", "tfjs.yaml", ["--engine", "auto"]);
    expect(followed.exitCode, followed.stderr).toBe(0);
    expect(followed.events.find((e) => e.type === "start")).toMatchObject({ engine: "tfjs" });
  }, 240_000);

  it("Ctrl-C saves and exits 130; re-running resumes to the adapter of an uninterrupted run, bit for bit", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE("torch").replace("dropout: 0", "dropout: 0.1"), "d.csv": DATA });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    expect((await tune(["recipe", "exp.yaml", "--out", "straight"], { cwd: dir, env })).exitCode).toBe(0);
    const child = execa("node", [join(ROOT, "bin/tune.js"), "recipe", "exp.yaml", "--out", "runs", "--json"], {
      cwd: dir,
      env,
      reject: false,
    });
    signalWhen(child, /"type":"step","step":5,/, "SIGINT");
    const stopped = await child;
    expect(stopped.exitCode).toBe(130);
    expect(stopped.stdout).toMatch(/"type":"stopped"/);
    const resumed = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir, env });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stdout.split("\n")[0]).toMatch(/^resuming exp from .*checkpoint-\d+ \(step \d+\)$/);
    const adapter = (root: string) => readFileSync(join(dir, root, "exp/checkpoint-12/adapter_model.safetensors"));
    expect(adapter("runs").equals(adapter("straight"))).toBe(true);
  }, 180_000);

  it("SIGKILL of tune at random moments kills its worker too, and re-running ends at the uninterrupted adapter, bit for bit", async () => {
    const dir = tempDir({
      "exp.yaml": RECIPE("torch")
        .replace("dropout: 0", "dropout: 0.1")
        .replace("checkpoints: {every: 4, keep: 5}", "checkpoints: {every: 2, keep: 2}"),
      "d.csv": DATA,
    });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    expect((await tune(["recipe", "exp.yaml", "--out", "straight"], { cwd: dir, env })).exitCode).toBe(0);
    const random = seededRandom(7);
    for (let kill = 0; kill < 3; kill++) {
      const child = execa("node", [join(ROOT, "bin/tune.js"), "recipe", "exp.yaml", "--out", "runs", "--json"], {
        cwd: dir,
        env,
        reject: false,
      });
      const steps = unsafeUniformIntDistribution(1, 3, random);
      let seen = 0;
      child.stdout?.on("data", (chunk: Buffer) => {
        seen += (chunk.toString().match(/"type":"step"/g) ?? []).length;
        if (seen >= steps) child.kill("SIGKILL");
      });
      await child;
      // The kernel ends the worker with its parent (no cleanup code of tune's could run).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const left = await execa("pgrep", ["-f", join(dir, "runs")], { reject: false });
      expect(left.stdout.trim(), "a worker outlived tune").toBe("");
    }
    const finished = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir, env });
    expect(finished.exitCode, finished.stderr).toBe(0);
    const adapter = (root: string) => readFileSync(join(dir, root, "exp/checkpoint-12/adapter_model.safetensors"));
    expect(adapter("runs").equals(adapter("straight"))).toBe(true);
  }, 240_000);

  it("engine: auto prefers the torch engine when its Python environment works, and says why", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE("auto").replace("max_steps: 12", "max_steps: 2"), "d.csv": DATA });
    const result = await tune(["recipe", "exp.yaml", "--out", "runs"], {
      cwd: dir,
      env: { TUNE_CACHE_DIR: testCache(dir) },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^engine: torch \(auto: the torch engine's Python environment works \(torch \S+, transformers \S+, peft \S+, CPU\)\)$/m,
    );
  }, 120_000);

  it("refuses a damaged model folder before Python, reports a worker crash with Python's own message and traceback, and refuses a worker that speaks another protocol", async () => {
    const dir = tempDir({ "exp.yaml": RECIPE("torch").replace("builtin:tiny-llama", "./model"), "d.csv": DATA });
    const model = join(dir, "model");
    const { tinyLlamaDir } = await import("../../src/builtin/index.js");
    const tiny = tinyLlamaDir(join(dir, "builtin-cache"));
    await execa("cp", ["-r", tiny, model]);
    writeFileSync(join(model, "model.safetensors"), "not a safetensors file");
    const damaged = await tune(["recipe", "exp.yaml", "--out", "runs"], {
      cwd: dir,
      env: { TUNE_CACHE_DIR: testCache(dir) },
    });
    expect(damaged.exitCode).toBe(2);
    expect(damaged.stderr).toMatch(/model\/model\.safetensors {2}not a valid safetensors file/);
    expect(hasStackTrace(damaged.stderr)).toBe(false);

    // A worker that fails with an exception tune does not know: its message and traceback, exit 1.
    await execa("cp", ["-r", tiny, join(dir, "model2")]);
    const crashing = join(dir, "crashing.sh");
    const crashed = [
      '{"type": "hello", "protocol": 1}',
      '{"type": "error", "message": "ZeroDivisionError: division by zero", "traceback": "Traceback (most recent call last):\\n  File \\"/bridge/tune_bridge/train.py\\", line 7, in train\\nZeroDivisionError: division by zero"}',
    ];
    const doctor =
      '{"type": "doctor", "python": "3.11", "packages": {"torch": "2"}, "missing": [], "cuda": null, "capabilities": {"train": true}}';
    writeFileSync(
      crashing,
      `#!/bin/sh\nprintf '%s\\n' '${crashed[0]}'\nif [ "$3" = doctor ]; then printf '%s\\n' '${doctor}'; exit 0; fi\nprintf '%s\\n' '${crashed[1]}'\nexit 1\n`,
      { mode: 0o755 },
    );
    writeFileSync(join(dir, "crash.yaml"), RECIPE("torch").replace("builtin:tiny-llama", "./model2"));
    const crash = await tune(["recipe", "crash.yaml", "--out", "runs"], {
      cwd: dir,
      env: { TUNE_CACHE_DIR: testCache(dir), TUNE_PYTHON: crashing },
    });
    expect(crash.exitCode, crash.stderr).toBe(1);
    expect(crash.stderr).toContain("the torch engine stopped with an error: ZeroDivisionError: division by zero");
    expect(crash.stderr).toMatch(/File ".*\.py", line \d+/);
    expect(hasStackTrace(crash.stderr)).toBe(false);

    const impostor = join(dir, "impostor.sh");
    writeFileSync(impostor, '#!/bin/sh\necho \'{"type": "hello", "protocol": 99}\'\n', { mode: 0o755 });
    const refused = await tune(["recipe", "crash.yaml", "--out", "runs2"], {
      cwd: dir,
      env: { TUNE_CACHE_DIR: testCache(dir), TUNE_PYTHON: impostor },
    });
    expect(refused.exitCode).toBe(4);
    expect(refused.stderr).toContain("the recipe asks for the torch engine, but its Python environment is not usable");
    expect(refused.stderr).toContain("protocol 1");
  }, 180_000);

  it("resuming from a checkpoint with a planted pickle is refused, exit 2, and the pickle never runs", async () => {
    const dir = tempDir({
      "exp.yaml": RECIPE("torch").replace("max_steps: 12", "max_steps: 4").replace("every: 4", "every: 2"),
      "d.csv": DATA,
    });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    expect((await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir, env })).exitCode).toBe(0);
    const checkpoint = join(dir, "runs/exp/checkpoint-2");
    rmSync(join(dir, "runs/exp/checkpoint-4"), { recursive: true });
    const marker = join(dir, "code-ran");
    // A pickle whose loading runs a shell command, with the manifest rewritten to match it.
    await execa(referencePython, [
      "-c",
      `import os, pickle\nclass P:\n    def __reduce__(self):\n        return (os.system, ("touch ${marker}",))\nopen("${join(checkpoint, "optimizer.pt")}", "wb").write(pickle.dumps({"state": P()}))`,
    ]);
    const manifest = JSON.parse(readFileSync(join(checkpoint, "MANIFEST.json"), "utf8")) as {
      files: Record<string, { sha256: string; bytes: number }>;
    };
    const planted = readFileSync(join(checkpoint, "optimizer.pt"));
    manifest.files["optimizer.pt"] = {
      sha256: createHash("sha256").update(planted).digest("hex"),
      bytes: planted.length,
    };
    writeFileSync(join(checkpoint, "MANIFEST.json"), JSON.stringify(manifest));
    const resumed = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir, env });
    expect(resumed.exitCode, resumed.stderr).toBe(2);
    expect(resumed.stderr).toMatch(/checkpoint-2\/optimizer\.pt is not plain tensors, so tune does not load it/);
    expect(hasStackTrace(resumed.stderr)).toBe(false);
    expect(existsSync(marker)).toBe(false);
  }, 180_000);

  it("tune setup python makes python-bridge/.venv ready (idempotent) and the engine uses it", async () => {
    const result = await tune(["setup", "python", "--json"]);
    expect(result.exitCode, result.stderr).toBe(0);
    const setup = JSON.parse(result.stdout) as { venv: string; packages: Record<string, string | null> };
    expect(setup.venv).toBe(join(ROOT, "python-bridge", ".venv"));
    for (const name of ["torch", "transformers", "peft", "safetensors", "tokenizers", "numpy"])
      expect(setup.packages[name], name).toBeTruthy();
    const doctor = await tune(["doctor", "--json"]);
    expect(JSON.parse(doctor.stdout)).toMatchObject({ python: { interpreter: { source: "python-bridge/.venv" } } });
  }, 180_000);

  it("runs a 4-bit NF4 recipe without bitsandbytes (built-in quantizer, with a warning) and generative classification with answers parsed", async () => {
    const quantized = RECIPE("torch", "quantization: {bits: 4, double_quant: true, compute_dtype: float32}\n").replace(
      "max_steps: 12",
      "max_steps: 4",
    );
    const generative = RECIPE(
      "torch",
      'template: {prompt: "Review: {text}\\nSentiment:", completion: " {label}"}\ngeneration: {max_new_tokens: 3}\n',
    )
      .replace("task: sequence-classification", "task: generative-classification")
      .replace("max_steps: 12", "max_steps: 4");
    const dir = tempDir({ "q.yaml": quantized, "g.yaml": generative, "d.csv": DATA });
    const q = await tune(["recipe", "q.yaml", "--out", "runs"], {
      cwd: dir,
      env: { TUNE_CACHE_DIR: testCache(dir) },
    });
    expect(q.exitCode, q.stderr).toBe(0);
    expect(q.stderr).toMatch(
      /^warning: quantization: 14 linear layers hold 4-bit weights with tune's built-in quantizer \(NF4, bitsandbytes codebook, blocks of 64, double-quantized scales\)/m,
    );
    const g = await run(dir, "gen-runs", "g.yaml");
    expect(g.exitCode, g.stderr).toBe(0);
    const evaluation = g.events.filter((e) => e.type === "eval").at(-1);
    expect(evaluation?.metrics?.error_rate).toBeTypeOf("number");
    const predictions = readFileSync(join(dir, "gen-runs/exp/checkpoint-4/predictions/eval.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { answer: string; gold: string; tokens: number });
    expect(predictions.length).toBeGreaterThan(0);
    for (const row of predictions) {
      expect(typeof row.answer).toBe("string");
      expect(["positive", "negative"]).toContain(row.gold);
      expect(row.tokens).toBeGreaterThan(0);
    }
  }, 180_000);

  it("several processes (torchrun, gloo on the CPU) take the same steps as one process accumulating the same micro-batches: two with ddp, two nodes of two (node 1 killed mid-run, node 0 naming it, both re-run), and two with fsdp (killed after checkpoint-4 and re-run), whose checkpoint is PEFT's own format", async () => {
    expect(bridgeCommand(["train", "--plan", "p.json"], 1)).toEqual(["-m", "tune_bridge", "train", "--plan", "p.json"]);
    expect(bridgeCommand(["train", "--plan", "p.json"], 4)).toEqual([
      "-m",
      "tune_bridge.launch",
      "--standalone",
      "--nproc_per_node=4",
      "-m",
      "tune_bridge",
      "train",
      "--plan",
      "p.json",
    ]);
    const base = RECIPE("torch").replace("max_steps: 12", "max_steps: 6");
    const dir = tempDir({
      "two.yaml": base
        .replace("gradient_accumulation: 2", "gradient_accumulation: 1")
        .concat("distributed: {processes: 2}\n"),
      "fsdp.yaml": base
        .replace("gradient_accumulation: 2", "gradient_accumulation: 1")
        .concat("distributed: {processes: 2, strategy: fsdp}\n"),
      "one.yaml": base,
      "d.csv": DATA,
    });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    // Meanwhile, rendezvous that never complete: node 0 alone at one endpoint, node 1 alone at
    // another where nobody listens.
    const [hosted, unhosted] = [await freePort(), await freePort()];
    const lonely = (rank: number, port: number) => {
      writeFileSync(
        join(dir, `alone-${rank}.yaml`),
        base.concat(
          `distributed: {nodes: 2, processes_per_node: 1, rendezvous: {endpoint: "127.0.0.1:${port}", timeout_s: 3}}\n`,
        ),
      );
      return tune(["recipe", `alone-${rank}.yaml`, "--out", "alone-runs", "--node-rank", String(rank)], {
        cwd: dir,
        env,
      });
    };
    const [two, waited, unreached] = await Promise.all([
      run(dir, "two-runs", "two.yaml"),
      lonely(0, hosted),
      lonely(1, unhosted),
    ]);
    expect(waited.exitCode, waited.stderr).toBe(4);
    expect(waited.stderr).toContain(
      `error: node 0 waited 3 s at 127.0.0.1:${hosted} for 2 nodes, and only 1 arrived (node 0 among them)`,
    );
    // Node 0 wrote its run directory before it waited: nothing claims otherwise.
    expect(waited.stderr).toMatch(/^1 problem\.$/m);
    expect(unreached.exitCode, unreached.stderr).toBe(4);
    expect(unreached.stderr).toContain(
      `error: node 1 could not reach node 0's rendezvous at 127.0.0.1:${unhosted} within 3 s`,
    );
    expect(two.exitCode, two.stderr).toBe(0);
    const one = await run(dir, "one-runs", "one.yaml");
    expect(one.exitCode, one.stderr).toBe(0);
    const losses = (events: Event[]) => events.flatMap((e) => (e.type === "step" ? [e.loss as number] : []));
    expect(losses(two.events)).toHaveLength(6);
    losses(two.events).forEach((loss, i) =>
      expect(Math.abs(loss - (losses(one.events)[i] as number))).toBeLessThan(1e-5),
    );
    // One checkpoint, written once, recording the process count.
    const processesOf = (checkpoint: string) =>
      (
        JSON.parse(readFileSync(join(dir, checkpoint, "MANIFEST.json"), "utf8")) as {
          provenance: { engine: { processes: number } };
        }
      ).provenance.engine.processes;
    expect(processesOf("two-runs/exp/checkpoint-4")).toBe(2);
    expect(two.events.filter((e) => e.type === "checkpoint")).toHaveLength(2);
    // Resumed on one process: refused while that would halve the rows per step, taken once
    // accumulation keeps them, and then ending at the one-process run's adapter.
    writeFileSync(join(dir, "halved.yaml"), base.replace("gradient_accumulation: 2", "gradient_accumulation: 1"));
    const halved = await tune(["recipe", "halved.yaml", "--out", "two-runs"], { cwd: dir, env });
    expect(halved.exitCode, halved.stderr).toBe(2);
    expect(halved.stderr).toContain("training.effective_batch_size: 8 -> 4");
    expect(halved.stderr).toContain(
      "The run took 8 rows per optimizer step on 2 processes; to resume it on 1 process with batch_size 4, set training.gradient_accumulation: 2.",
    );
    const moved = await run(dir, "two-runs", "one.yaml", ["--resume", join(dir, "two-runs/exp/checkpoint-4")]);
    expect(moved.exitCode, moved.stderr).toBe(0);
    expect(moved.events.find((e) => e.type === "resume")).toMatchObject({ step: 4 });
    expect(losses(moved.events)).toHaveLength(2);
    expect(processesOf("two-runs/exp/checkpoint-6")).toBe(1);
    losses(moved.events).forEach((loss, i) =>
      expect(Math.abs(loss - (losses(one.events)[i + 4] as number))).toBeLessThan(1e-5),
    );

    // Two "nodes" on 127.0.0.1 of two processes each, the same command with its --node-rank: four
    // micro-batches of 2 per step are the one process's two of 4. Node 1 dies mid-run.
    const port = await freePort();
    writeFileSync(
      join(dir, "nodes.yaml"),
      base
        .replace("batch_size: 4, gradient_accumulation: 2", "batch_size: 2, gradient_accumulation: 1")
        .replace("every: 4", "every: 2")
        .concat(
          `distributed: {nodes: 2, processes_per_node: 2, rendezvous: {endpoint: "127.0.0.1:${port}", timeout_s: 60}}\n`,
        ),
    );
    const node = (rank: number) =>
      execa(
        "node",
        [
          join(ROOT, "bin/tune.js"),
          "recipe",
          "nodes.yaml",
          "--out",
          "node-runs",
          "--json",
          "--node-rank",
          String(rank),
        ],
        // A survivor that never stopped would otherwise wait out the test's own timeout.
        { cwd: dir, env, reject: false, timeout: 120_000 },
      );
    const [survivor, doomed] = [node(0), node(1)];
    signalWhen(doomed, /"type":"step","step":3,/, "SIGKILL");
    const [stopped] = await Promise.all([survivor, doomed]);
    // Node 0 names the node that went, its ranks and the last thing it printed, and keeps the run.
    expect(stopped.exitCode, stopped.stderr).toBe(4);
    const problem = (
      JSON.parse(stopped.stdout.slice(stopped.stdout.lastIndexOf("\n{\n") + 1)) as {
        problems: Array<{ code: string; message: string; hint: string }>;
      }
    ).problems[0];
    expect(problem?.code).toBe("node-lost");
    // The ranks named are those that went silent: one of node 1's that outlived the other saw its
    // collective fail too, said so, and is not among them.
    expect(problem?.message).toMatch(
      /^node 0 of 2: node 1 stopped answering \((ranks 2-3|rank [23])\); the last it printed: \{"type": "step", "step": [3-6],/,
    );
    const kept = /The last complete checkpoint is .*checkpoint-(\d+)\./.exec(problem?.hint ?? "")?.[1];
    expect(kept).toBeDefined();
    // The same two commands again resume from the checkpoint node 0 kept.
    const [lead, follower] = await Promise.all([
      run(dir, "node-runs", "nodes.yaml", ["--node-rank", "0"]),
      run(dir, "node-runs", "nodes.yaml", ["--node-rank", "1"]),
    ]);
    expect(lead.exitCode, lead.stderr).toBe(0);
    expect(follower.exitCode, follower.stderr).toBe(0);
    expect(follower.stderr).toContain(
      `node 1 of 2 (rank from --node-rank): node 0 at 127.0.0.1:${port} writes the run directory`,
    );
    expect(lead.events.find((e) => e.type === "resume")).toMatchObject({ step: Number(kept) });
    losses(lead.events).forEach((loss, i) =>
      expect(Math.abs(loss - (losses(one.events)[i + Number(kept)] as number))).toBeLessThan(1e-5),
    );
    // Node 0 alone reports checkpoints; node 1 trained the same steps but wrote none.
    expect(lead.events.filter((e) => e.type === "checkpoint").length).toBeGreaterThan(0);
    expect(follower.events.filter((e) => e.type === "checkpoint")).toHaveLength(0);
    expect(losses(follower.events)).toEqual(losses(lead.events));
    // The same adapter as one process accumulating the same micro-batches, to float noise.
    const weights = (out: string) => float32Tensors(join(dir, out, "exp/checkpoint-6/adapter_model.safetensors"));
    // So is the two-process run that one process finished.
    const alone = weights("one-runs");
    for (const other of [weights("node-runs"), weights("two-runs")]) {
      expect(Object.keys(other).sort()).toEqual(Object.keys(alone).sort());
      for (const [name, values] of Object.entries(other))
        values.forEach((v, i) => expect(Math.abs(v - (alone[name]?.[i] ?? NaN)), name).toBeLessThan(1e-5));
    }

    // FSDP2: each process holds half of every layer; the same steps, and checkpoints gathered whole.
    const child = execa("node", [join(ROOT, "bin/tune.js"), "recipe", "fsdp.yaml", "--out", "fsdp-runs", "--json"], {
      cwd: dir,
      env,
      reject: false,
    });
    // Killed, not stopped (Ctrl-C is python-bridge/tests/test_launch.py's): a resume after a kill ends where an uninterrupted run ends.
    signalWhen(child, /"type":"checkpoint","step":4,/, "SIGKILL");
    await child;
    const resumed = await run(dir, "fsdp-runs", "fsdp.yaml");
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.events.find((e) => e.type === "resume")).toMatchObject({ step: 4 });
    // The optimizer state resumed from checkpoint-4 is sharded anew: steps 5 and 6 as one process takes them.
    expect(losses(resumed.events)).toHaveLength(2);
    losses(resumed.events).forEach((loss, i) =>
      expect(Math.abs(loss - (losses(one.events)[i + 4] as number))).toBeLessThan(1e-5),
    );
    // Checkpoints the worker did not predict (a sharded model predicts only with every rank) are judged after training.
    expect(resumed.events.filter((e) => e.type === "eval").map((e) => `${e.step}:${e.split}`)).toContain("6:eval");
    // Exactly the tensors (names, dtypes, shapes) and config PEFT writes for the one-process run,
    // so PeftModel.from_pretrained, merge and eval read it as they read that one.
    const adapter = (root: string) => openSafetensors(join(dir, root, "exp/checkpoint-6/adapter_model.safetensors"));
    const [sharded, single] = [adapter("fsdp-runs"), adapter("one-runs")];
    const layout = (file: typeof single) =>
      [...file.tensors.values()].map(({ name, dtype, shape }) => ({ name, dtype, shape }));
    expect(layout(sharded)).toEqual(layout(single));
    for (const name of single.tensors.keys()) {
      const [a, b] = [sharded.readFloat32(name), single.readFloat32(name)];
      // Sums over two ranks in another order than one process's: float noise, no more.
      a.forEach((value, i) => expect(Math.abs(value - (b[i] as number))).toBeLessThan(1e-5));
    }
    const config = (root: string) => {
      const read = JSON.parse(readFileSync(join(dir, root, "exp/checkpoint-6/adapter_config.json"), "utf8")) as {
        target_modules: string[];
      };
      return { ...read, target_modules: read.target_modules.sort() };
    };
    expect(config("fsdp-runs")).toEqual(config("one-runs"));
  }, 300_000);

  it("a model folder that ships Python code is refused, exit 2, and its code never runs, unless the recipe sets model.trust_remote_code", async () => {
    const recipe = (model: string) =>
      `name: exp\ntask: causal-lm\nengine: torch\nmodel: ${model}\nlora: {r: 4, alpha: 8, dropout: 0}\ndata: {file: d.csv, split: {eval: 0.25, test: 0, seed: 3}}\ntemplate: {prompt: "Review:", completion: " {text}"}\ntraining: {max_steps: 1, batch_size: 4}\ncheckpoints: {every: 1}\n`;
    const dir = tempDir({
      "exp.yaml": recipe("{base: ./model}"),
      "trusted.yaml": recipe("{base: ./model, trust_remote_code: true}"),
      "d.csv": DATA,
    });
    const model = join(dir, "model");
    const marker = join(dir, "code-ran");
    const { tinyLlamaDir } = await import("../../src/builtin/index.js");
    await execa("cp", ["-r", tinyLlamaDir(join(dir, "builtin-cache")), model]);
    // A repo whose config maps the Auto classes to its own module, as Hub repos with custom architectures do.
    writeFileSync(
      join(model, "custom.py"),
      `import pathlib\npathlib.Path(${JSON.stringify(marker)}).touch()\nfrom transformers import LlamaConfig, LlamaForCausalLM\n\nclass CustomConfig(LlamaConfig):\n    model_type = "custom-llama"\n\nclass CustomForCausalLM(LlamaForCausalLM):\n    config_class = CustomConfig\n`,
    );
    const config = JSON.parse(readFileSync(join(model, "config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(
      join(model, "config.json"),
      JSON.stringify({
        ...config,
        model_type: "custom-llama",
        auto_map: {
          AutoConfig: "custom.CustomConfig",
          AutoModelForCausalLM: "custom.CustomForCausalLM",
        },
      }),
    );
    const env = { TUNE_CACHE_DIR: join(dir, "cache"), HF_MODULES_CACHE: join(dir, "hf-modules") };
    const refused = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir, env });
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(
      "./model needs Python code shipped in its repo to load, and tune does not run it unless asked",
    );
    expect(refused.stderr).toContain("Set `model.trust_remote_code: true` in the recipe if you trust that repo's code");
    expect(hasStackTrace(refused.stderr)).toBe(false);
    expect(existsSync(marker)).toBe(false);

    const trusted = await tune(["recipe", "trusted.yaml", "--out", "trusted-runs"], { cwd: dir, env });
    expect(trusted.exitCode, trusted.stderr).toBe(0);
    // The model was built by the classes of the module the repo ships.
    expect(existsSync(marker)).toBe(true);
  }, 180_000);

  it("lora.init gaussian reaches PEFT: the adapter starts where PEFT's own gaussian initialisation puts it; pissa and olora are refused at validation", async () => {
    const recipe = (init: string) =>
      `name: exp\ntask: causal-lm\nengine: torch\nmodel: {base: ./model}\nlora: {r: 4, alpha: 8, dropout: 0, target_modules: [q_proj, v_proj], init: ${init}}\ndata: {file: d.csv, split: {eval: 0.25, test: 0, seed: 3}}\ntemplate: {prompt: "Review:", completion: " {text}"}\ntraining: {max_steps: 1, batch_size: 4, lr: 1.0e-9, seed: 5}\ncheckpoints: {every: 1}\n`;
    const dir = tempDir({
      "exp.yaml": recipe("gaussian"),
      "pissa.yaml": recipe("pissa"),
      "olora.yaml": recipe("olora"),
      "d.csv": DATA,
    });
    const model = join(dir, "model");
    const { tinyLlamaDir } = await import("../../src/builtin/index.js");
    await execa("cp", ["-r", tinyLlamaDir(join(dir, "builtin-cache")), model]);
    const pissa = await tune(["validate", "pissa.yaml"], { cwd: dir });
    expect(pissa.exitCode).toBe(2);
    expect(pissa.stderr).toMatch(
      /^error: pissa\.yaml:5:\d+ {2}lora\.init: pissa is not available in this version of tune: it moves part of the base model's weights/m,
    );
    const olora = await tune(["validate", "olora.yaml"], { cwd: dir });
    expect(olora.exitCode).toBe(2);
    expect(olora.stderr).toMatch(
      /^error: olora\.yaml:5:\d+ {2}lora\.init: olora is not available in this version of tune: it moves part of the base model's weights/m,
    );

    // One step at a learning rate of 1e-9 moves B (zero at the start) by about 1e-9.
    const trained = await tune(["recipe", "exp.yaml", "--out", "runs"], {
      cwd: dir,
      env: { TUNE_CACHE_DIR: join(dir, "cache") },
    });
    expect(trained.exitCode, trained.stderr).toBe(0);
    const script = `
import json, sys, torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM
model_dir, adapter = sys.argv[1:3]
saved = load_file(adapter)
def farthest(init):
    torch.manual_seed(5)
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, use_safetensors=True)
    peft = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM", init_lora_weights=init))
    state = {name.replace(".default", ""): p.detach() for name, p in peft.named_parameters() if ".lora_" in name}
    assert sorted(state) == sorted(saved), (sorted(state), sorted(saved))
    return {part: max((saved[k] - state[k]).abs().max().item() for k in state if f".lora_{part}." in k) for part in "AB"}
print(json.dumps({"gaussian": farthest("gaussian"), "default": farthest(True)}))
`;
    const python = await execa(
      join(ROOT, "python-bridge/.venv/bin/python"),
      ["-W", "ignore", "-c", script, model, join(dir, "runs/exp/checkpoint-1/adapter_model.safetensors")],
      { reject: false, env: { TRANSFORMERS_VERBOSITY: "error" } },
    );
    expect(python.exitCode, python.stderr).toBe(0);
    const distance = JSON.parse(python.stdout.trim().split("\n").at(-1) as string) as Record<
      "gaussian" | "default",
      { A: number; B: number }
    >;
    // A has no gradient while B is zero, so the first step leaves it exactly as initialised.
    expect(distance.gaussian.A).toBe(0);
    expect(distance.gaussian.B).toBeLessThan(1e-6);
    // PEFT's default (Kaiming-uniform) A from the same seed is far from it: the comparison tells the two apart.
    expect(distance.default.A).toBeGreaterThan(1e-2);
  }, 180_000);

  it("refuses at validation distributed training on the tfjs engine, deepspeed and fsdp over a quantized base, naming the field's line", async () => {
    const dir = tempDir({
      "a.yaml": RECIPE("tfjs", "distributed: {processes: 2}\n"),
      "fsdp.yaml": RECIPE("torch", "quantization: {bits: 4}\ndistributed: {processes: 2, strategy: fsdp}\n"),
      "deepspeed.yaml": RECIPE("torch", "distributed:\n  processes: 2\n  strategy: deepspeed\n"),
      "zero.yaml": RECIPE("torch", "distributed: {processes: 2, zero_stage: 2}\n"),
      "d.csv": DATA,
    });
    const a = await tune(["validate", "a.yaml"], { cwd: dir });
    expect(a.exitCode).toBe(2);
    expect(a.stderr).toMatch(/a\.yaml:\d+:\d+ {2}distributed: the tfjs engine trains in one process/);
    const fsdp = await tune(["validate", "fsdp.yaml"], { cwd: dir });
    expect(fsdp.exitCode).toBe(2);
    expect(fsdp.stderr).toMatch(
      /^error: fsdp\.yaml:10:39 {2}distributed\.strategy: fsdp cannot shard a quantized base: the built-in quantizer keeps its 4- and 8-bit weights as buffers, which FSDP's fully_shard leaves whole on every process.*\n {4}Remove `quantization` to shard the base with fsdp, or keep it and use `strategy: ddp`/m,
    );
    const deepspeed = await tune(["validate", "deepspeed.yaml"], { cwd: dir });
    expect(deepspeed.exitCode).toBe(2);
    expect(deepspeed.stderr).toMatch(
      /deepspeed\.yaml:11:13 {2}distributed\.strategy: deepspeed is not available[^\n]*\n {4}Use `strategy: fsdp`/,
    );
    // DeepSpeed's ZeRO stage has nothing to configure, so it is not a field.
    const zero = await tune(["validate", "zero.yaml"], { cwd: dir });
    expect(zero.exitCode).toBe(2);
    expect(zero.stderr).toMatch(/zero\.yaml:9:\d+ {2}distributed\.zero_stage: unknown field/);
    expect(hasStackTrace(fsdp.stderr + deepspeed.stderr + zero.stderr)).toBe(false);
  });
});
