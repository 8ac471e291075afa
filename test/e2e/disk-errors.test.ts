import * as realFs from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { checkpointProblem } from "../../src/checkpoint/index.js";
import { isTuneError } from "../../src/errors/index.js";
import { runRecipe } from "../../src/index.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

/** Which write fails, and how: set by each test; the real file system otherwise. */
const fault = vi.hoisted(() => ({ code: null as string | null, when: (_path: string): boolean => false }));

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const openSync = (path: realFs.PathLike, flags?: realFs.OpenMode, mode?: realFs.Mode) => {
    if (fault.code && typeof flags === "string" && flags.startsWith("w") && fault.when(String(path))) {
      throw Object.assign(new Error(`${fault.code}: simulated failure, open '${String(path)}'`), { code: fault.code });
    }
    return fs.openSync(path, flags ?? "r", mode);
  };
  return { ...fs, openSync, default: { ...fs, openSync } };
});

const DATA = `text,label\n${Array.from({ length: 24 }, (_, i) => `"review ${i}: ${["great value", "broke quickly"][i % 2]}",${i % 2 ? "negative" : "positive"}`).join("\n")}\n`;
const RECIPE =
  "task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8}\ndata: {train: d.csv, labels: [positive, negative]}\ntraining: {max_steps: 6, batch_size: 8, lr: 0.01}\ncheckpoints: {every: 2, keep: 5}\neval: {splits: [train]}\n";

describe("a disk that fills up or turns read-only mid-run", () => {
  it.each([
    ["ENOSPC", "the disk is full"],
    ["EROFS", "the file system is read-only"],
  ])(
    "%s while writing a checkpoint: a clear message, the previous checkpoint intact, and a re-run resumes from it",
    async (code, why) => {
      const dir = tempDir({ "exp.yaml": RECIPE, "d.csv": DATA });
      const options = { out: join(dir, "runs"), cacheRoot: testCache(dir) };
      const runDir = join(dir, "runs", "exp");
      fault.code = code;
      fault.when = (path) => path.includes("checkpoint-4.tmp-");
      const error = await runRecipe(join(dir, "exp.yaml"), options).catch((e: unknown) => e);
      fault.code = null;
      expect(isTuneError(error)).toBe(true);
      const problem = (error as { problems: Array<{ message: string; hint: string }> }).problems[0];
      expect(problem?.message).toContain(`cannot write the run directory ${runDir}: ${why}`);
      expect((error as { exitCode: number }).exitCode).toBe(4);
      expect(problem?.hint).toContain(`The last complete checkpoint, ${join(runDir, "checkpoint-2")}, is intact.`);
      expect(checkpointProblem(join(runDir, "checkpoint-2"))).toBeNull();
      expect(realFs.existsSync(join(runDir, "checkpoint-4"))).toBe(false);
      const events = realFs
        .readFileSync(join(runDir, "events.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { type: string; message?: string });
      expect(events.at(-1)).toMatchObject({ type: "error" });

      const resumed = await runRecipe(join(dir, "exp.yaml"), options);
      expect(resumed.resumedFrom).toBe(join(runDir, "checkpoint-2"));
      expect(resumed.stopped).toBe(false);
      expect(checkpointProblem(join(runDir, "checkpoint-6"))).toBeNull();
      expect(realFs.readdirSync(runDir).filter((name) => name.includes(".tmp-"))).toEqual([]);
    },
    120_000,
  );
});
