import { describe, expect, it } from "vitest";
import { tune } from "../support/cli.js";

const VERBS: Record<string, string[]> = {
  recipe: ["--model", "--engine", "--max-steps", "--out", "--restart", "--resume", "--json"],
  validate: ["--print-plan", "--model", "--engine", "--out", "--json"],
  init: ["--task", "--force", "--json"],
  doctor: ["--json"],
  runs: ["--out", "--json"],
  prepare: ["--out", "--json"],
  eval: ["--split", "--data", "--json"],
  metrics: ["--labels", "--json"],
  predict: ["--in", "--out", "--runs", "--json"],
  merge: ["--out", "--dtype", "--base", "--json"],
  push: ["--repo", "--private", "--merged", "--dtype", "--base", "--revision", "--dry-run", "--force", "--json"],
  report: ["--json"],
  chat: ["--prompt", "--system", "--max-new-tokens", "--json"],
  pipeline: ["--model", "--engine", "--max-steps", "--out", "--json"],
  compare: ["--split", "--json"],
  setup: ["--json"],
  launch: [
    "--print",
    "--out",
    "--hf-home",
    "--image",
    "--claim",
    "--mount",
    "--recipe-path",
    "--secret",
    "--secret-key",
  ],
};

describe("the CLI surface", () => {
  it("tune --help lists every verb and the exit codes", async () => {
    const result = await tune(["--help"]);
    expect(result.exitCode).toBe(0);
    for (const verb of Object.keys(VERBS)) expect(result.stdout).toMatch(new RegExp(`^  ${verb} `, "m"));
    expect(result.stdout).toContain("130  stopped by a signal after saving state");
  });

  it.each(Object.entries(VERBS))("tune %s --help lists its flags", async (verb, flags) => {
    const result = await tune([verb, "--help"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`Usage: tune ${verb}`);
    for (const flag of flags) expect(result.stdout).toContain(flag);
  });

  it("tune without a verb prints help and exits 2", async () => {
    const result = await tune([]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain("Usage: tune");
  });

  it("an unknown verb or flag is a user error", async () => {
    const verb = await tune(["trian"]);
    expect(verb.exitCode).toBe(2);
    expect(verb.stderr).toContain("unknown command 'trian'");
    const flag = await tune(["validate", "recipes/quickstart.yaml", "--prin-plan"]);
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toContain("unknown option '--prin-plan'");
  });

  it("--version prints the package version", async () => {
    const result = await tune(["--version"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
