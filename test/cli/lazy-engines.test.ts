import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

/** The CLI run in a process of its own, and the TensorFlow.js modules that process loaded. */
async function loadedEngines(args: string[], cwd = ROOT): Promise<{ exitCode: number; loaded: string[] }> {
  const result = await execa("node", [join(ROOT, "test/support/loaded-engines.mjs"), ...args], {
    cwd,
    reject: false,
  });
  const line = result.stderr.split("\n").findLast((l) => l.startsWith("loaded-engines: "));
  if (!line) throw new Error(`no report from the CLI:\n${result.stderr}`);
  return { exitCode: result.exitCode ?? -1, loaded: JSON.parse(line.slice("loaded-engines: ".length)) as string[] };
}

describe("commands that train nothing never load an engine", () => {
  const quickstart = join(ROOT, "recipes/quickstart.yaml");
  it.each(
    [
      ["--help"],
      ["validate", quickstart],
      ["prepare", quickstart],
      ["init", "recipe.yaml"],
      ["launch", quickstart, "--print", "slurm"],
      ["doctor", "--json"],
      ["runs"],
      ["merge", "--help"],
    ].map((args) => [args.join(" ").replace(ROOT, ""), args] as const),
  )(
    "tune %s loads no @tensorflow module",
    async (_command, args) => {
      const ran = await loadedEngines([...args], tempDir());
      expect(ran.exitCode).toBe(0);
      expect(ran.loaded).toEqual([]);
    },
    60_000,
  );

  it("the check sees an engine when a verb loads one: tune recipe asks the tfjs engine what it refuses", async () => {
    // engineFor loads the tfjs engine, which refuses an optimizer it lacks before any data is read.
    const recipe =
      "task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\ntraining: {optimizer: sgd}\ndata: {file: d.csv, labels: [a, b]}\n";
    const ran = await loadedEngines(["recipe", "r.yaml"], tempDir({ "r.yaml": recipe, "d.csv": "text,label\nx,a\n" }));
    expect(ran.exitCode).toBe(2);
    expect(ran.loaded.some((file) => file.includes("/@tensorflow/tfjs-core/"))).toBe(true);
  }, 60_000);
});
