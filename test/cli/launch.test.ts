import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

const SENTINEL = "sentinel-token-8c1f0e2d";
const RECIPE = (extra = "") =>
  "task: sequence-classification\nengine: torch\nmodel: {base: builtin:tiny-llama}\n" +
  "data: {file: d.csv, labels: [a, b]}\ndistributed: {nodes: 3, processes_per_node: 4}\n" +
  extra;
// Every way a path could reach a shell or YAML parser as code: spaces, both quotes, $(...),
// backticks and a newline.
const HOSTILE = `it's "a" $(touch pwned) \`touch pwned\`\nline two`;

/** A folder holding a recipe (and its data) under a hostile name, and the recipe's path. */
function recipeIn(root: string, text: string): { dir: string; file: string } {
  const dir = join(root, HOSTILE);
  mkdirSync(dir);
  writeFileSync(join(dir, "d.csv"), "text,label\nx,a\ny,b\n");
  const file = join(dir, "my $(touch pwned) 'q'.yaml");
  writeFileSync(file, text);
  return { dir, file };
}

/** Every file named `pwned` under a folder: what an injected command would have left. */
function pwned(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: "utf8" }).filter((entry) => entry.endsWith("pwned"));
}

/**
 * Stand-ins for srun and npx that record their argv, environment and folder as JSON; srun then
 * runs its command, as it does once per node.
 */
function fakeCluster(root: string): { bin: string; record: string } {
  const bin = join(root, "bin");
  const record = join(root, "record");
  mkdirSync(bin);
  mkdirSync(record);
  const recorder = (name: string, thenRun: boolean) =>
    [
      "#!/usr/bin/env node",
      'const { writeFileSync } = require("node:fs");',
      'const { spawnSync } = require("node:child_process");',
      "const argv = process.argv.slice(2);",
      `writeFileSync(process.env.LAUNCH_RECORD + "/${name}.json", JSON.stringify({ argv, env: process.env, cwd: process.cwd() }));`,
      thenRun
        ? 'const at = argv.findIndex((arg) => !arg.startsWith("-")); process.exit(spawnSync(argv[at], argv.slice(at + 1), { stdio: "inherit" }).status ?? 1);'
        : "",
    ].join("\n");
  for (const [name, thenRun] of [
    ["srun", true],
    ["npx", false],
  ] as const) {
    writeFileSync(join(bin, name), recorder(name, thenRun));
    chmodSync(join(bin, name), 0o755);
  }
  return { bin, record };
}

interface Recorded {
  argv: string[];
  env: Record<string, string | undefined>;
  cwd: string;
}
const recorded = (record: string, name: string): Recorded | null =>
  existsSync(join(record, `${name}.json`))
    ? (JSON.parse(readFileSync(join(record, `${name}.json`), "utf8")) as Recorded)
    : null;

/** A hostile recipe's sbatch script, written by `tune launch` with HF_TOKEN in its environment. */
async function slurmJob(): Promise<{
  root: string;
  recipe: { dir: string; file: string };
  out: string;
  script: string;
}> {
  const root = tempDir();
  const recipe = recipeIn(root, RECIPE("hub: {repo: me/thing}\n"));
  const out = join(root, `out ${HOSTILE}`);
  const result = await tune(["launch", recipe.file, "--print", "slurm", "--out", out], {
    cwd: recipe.dir,
    env: { HF_TOKEN: SENTINEL },
  });
  expect(result.exitCode, result.stderr).toBe(0);
  const script = join(root, "job.sbatch");
  writeFileSync(script, `${result.stdout}\n`);
  return { root, recipe, out, script };
}

describe("tune launch --print slurm", () => {
  it("asks Slurm for one task per node and a GPU per process, and is valid bash", async () => {
    const { script } = await slurmJob();
    const text = readFileSync(script, "utf8");
    expect(text).toMatch(/^#!\/bin\/bash\n/);
    for (const line of ["--nodes=3", "--ntasks-per-node=1", "--gpus-per-node=4", "--job-name=my---touch-pwned---q-"])
      expect(text).toContain(`#SBATCH ${line}\n`);
    expect(text).toContain("set -euo pipefail\n");
    expect(text).toContain("export TORCH_NCCL_ASYNC_ERROR_HANDLING=1\n");
    expect(text).toContain("# export NCCL_SOCKET_IFNAME=");
    expect(text).not.toContain(SENTINEL);
    expect((await execa("bash", ["-n", script], { reject: false })).exitCode).toBe(0);
  });

  it("runs `npx tune recipe` on each node with the paths as given and the token from the environment, injecting nothing", async () => {
    const { root, recipe, out, script } = await slurmJob();
    const { bin, record } = fakeCluster(root);
    const ran = await execa("bash", [script], {
      cwd: root,
      reject: false,
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        LAUNCH_RECORD: record,
        HF_TOKEN: SENTINEL,
        SLURM_NODEID: "0",
        SLURM_NNODES: "3",
        SLURM_JOB_NODELIST: "gpu[01-03]",
      },
    });
    expect(ran.exitCode, ran.stderr).toBe(0);
    expect(recorded(record, "srun")?.argv.slice(0, 2)).toEqual(["--ntasks-per-node=1", "--kill-on-bad-exit=1"]);
    const npx = recorded(record, "npx");
    expect(npx?.argv).toEqual(["tune", "recipe", recipe.file, "--out", out]);
    expect(npx?.cwd).toBe(recipe.dir);
    expect(npx?.env.HF_TOKEN).toBe(SENTINEL);
    expect(npx?.env.HF_HOME).toBe(join(out, ".hf-home"));
    expect(npx?.env.SLURM_NODEID).toBe("0");
    expect(npx?.env.TORCH_NCCL_ASYNC_ERROR_HANDLING).toBe("1");
    expect(pwned(root)).toEqual([]);
  });

  it("stops before srun when the recipe pushes to the Hub and HF_TOKEN is not set", async () => {
    const { root, script } = await slurmJob();
    const { bin, record } = fakeCluster(root);
    const ran = await execa("bash", [script], {
      cwd: root,
      reject: false,
      env: { PATH: `${bin}:${process.env.PATH}`, LAUNCH_RECORD: record, HF_TOKEN: "" },
    });
    expect(ran.exitCode).toBe(4);
    expect(ran.stderr).toContain("HF_TOKEN is not set");
    expect(recorded(record, "srun")).toBeNull();
  });

  it("warns, on stderr and in the script, when the recipe names a rendezvous endpoint", async () => {
    const dir = tempDir({
      "r.yaml": RECIPE().replace("processes_per_node: 4", "processes_per_node: 4, rendezvous: {endpoint: 'n01:29500'}"),
      "d.csv": "text,label\nx,a\n",
    });
    const result = await tune(["launch", "r.yaml", "--print", "slurm"], { cwd: dir });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toContain("warning: the recipe names distributed.rendezvous.endpoint n01:29500");
    expect(result.stdout).toContain("# Warning: ");
    // Without a push, no token is demanded.
    expect(result.stdout).not.toContain("exit 4");
  });
});

describe("tune launch --print kubernetes", () => {
  it("prints a PyTorchJob: Master and Workers make the recipe's nodes, the token from a Secret, the paths intact", async () => {
    const root = tempDir();
    const recipe = recipeIn(root, RECIPE());
    const shared = `/mnt/${HOSTILE}`;
    const result = await tune(
      [
        "launch",
        recipe.file,
        "--print",
        "kubernetes",
        "--image",
        "registry.example.org/tune:1.0",
        "--mount",
        shared,
        "--recipe-path",
        `${shared}/on`,
      ],
      { cwd: recipe.dir, env: { HF_TOKEN: SENTINEL } },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).not.toContain(SENTINEL);
    const job = parse(result.stdout);
    expect(job).toMatchObject({
      apiVersion: "kubeflow.org/v1",
      kind: "PyTorchJob",
      metadata: { name: "my-touch-pwned-q" },
    });
    const { Master, Worker } = job.spec.pytorchReplicaSpecs;
    expect(Master.replicas + Worker.replicas).toBe(3);
    expect(Master.replicas).toBe(1);
    expect(job.spec.nprocPerNode).toBe("4");
    for (const replica of [Master, Worker]) {
      expect(replica.restartPolicy).toBe("OnFailure");
      const [container] = replica.template.spec.containers;
      expect(container.name).toBe("pytorch");
      expect(container.command).toEqual(["npx", "tune", "recipe", `${shared}/on`, "--out", `${shared}/adapters`]);
      expect(container.resources.limits["nvidia.com/gpu"]).toBe(4);
      const env = Object.fromEntries(container.env.map((e: { name: string }) => [e.name, e]));
      expect(env.HF_TOKEN).toEqual({
        name: "HF_TOKEN",
        valueFrom: { secretKeyRef: { name: "hf-token", key: "token", optional: true } },
      });
      expect(env.HF_HOME.value).toBe(`${shared}/adapters/.hf-home`);
      expect(container.ports).toEqual([{ name: "pytorchjob-port", containerPort: 29500 }]);
      expect(replica.template.spec.volumes).toEqual([
        { name: "shared", persistentVolumeClaim: { claimName: "tune-shared" } },
        { name: "dshm", emptyDir: { medium: "Memory" } },
      ]);
    }
    // YAML 1.1, as kubectl reads it: `on` stays a string there too.
    expect(
      parse(result.stdout, { version: "1.1" }).spec.pytorchReplicaSpecs.Master.template.spec.containers[0].command[3],
    ).toBe(`${shared}/on`);
  });

  it("makes the Secret required when the recipe pushes, and has no Worker for one node", async () => {
    const dir = tempDir({
      "r.yaml": RECIPE("hub: {repo: me/thing}\n").replace("nodes: 3", "nodes: 1"),
      "d.csv": "text,label\nx,a\n",
    });
    const result = await tune(["launch", "r.yaml", "--print", "kubernetes", "--image", "tune:1"], { cwd: dir });
    expect(result.exitCode, result.stderr).toBe(0);
    const job = parse(result.stdout);
    expect(Object.keys(job.spec.pytorchReplicaSpecs)).toEqual(["Master"]);
    const [container] = job.spec.pytorchReplicaSpecs.Master.template.spec.containers;
    expect(container.env[0].valueFrom.secretKeyRef).toEqual({ name: "hf-token", key: "token" });
  });
});

describe("tune launch refuses", () => {
  const dir = () => tempDir({ "r.yaml": RECIPE(), "d.csv": "text,label\nx,a\n" });

  it.each([
    [["--print", "pbs"], "Allowed choices are slurm, kubernetes"],
    [[], "required option '--print <format>'"],
    [["--print", "kubernetes"], "--image  is required with --print kubernetes"],
    [
      ["--print", "kubernetes", "--image", "tune:1", "--out", "/elsewhere"],
      "is not on the shared volume mounted at /shared",
    ],
    // Output hides token-shaped text, which would change the path the job runs.
    [["--print", "slurm", "--out", "/data/hf_datasets"], "looks like a credential"],
  ])("tune launch r.yaml %j (exit 2)", async (flags, message) => {
    const result = await tune(["launch", "r.yaml", ...flags], { cwd: dir() });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe("");
  });

  it("a recipe tune validate refuses, with the same message (exit 2)", async () => {
    const bad = tempDir({ "r.yaml": "task: nope\nmodel: {base: builtin:tiny-llama}\ndata: {file: d.csv}\n" });
    const result = await tune(["launch", "r.yaml", "--print", "slurm"], { cwd: bad });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("r.yaml:1:7  task: expected one of");
  });
});
