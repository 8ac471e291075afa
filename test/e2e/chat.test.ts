import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { hasStackTrace, ROOT, tune } from "../support/cli.js";
import { fixtureCopy } from "../support/fixtures.js";
import { testCache } from "../support/test-cache.js";

// The chat fixtures (test/support/fixture-runs.ts): runs/c, a causal LM trained on every engine
// to answer "Thank you, noted."; and the notes fixture's runs/cls, a classifier.
describe("tune chat", () => {
  it.each(["tfjs", "torch"])(
    "answers with what the %s-trained chat model learned, one message or a piped conversation",
    async (engine) => {
      const dir = fixtureCopy(engine === "torch" ? "chat-torch" : "chat-tfjs");
      const env = { TUNE_CACHE_DIR: testCache(dir) };

      const one = await tune(["chat", "runs/c", "--prompt", "Please reply to message 99."], { cwd: dir, env });
      expect(one.exitCode, one.stderr).toBe(0);
      expect(one.stdout).toContain("Thank you, noted.");

      // Piped messages are one conversation: each line is a user turn, each reply a JSON line.
      const piped = await execa("node", [join(ROOT, "bin/tune.js"), "chat", "runs/c", "--json"], {
        cwd: dir,
        env,
        input: "Please reply to message 7.\n\nPlease reply to message 8.\n",
        reject: false,
      });
      expect(piped.exitCode, piped.stderr).toBe(0);
      const replies = piped.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { prompt: string; reply: string });
      expect(replies.map((r) => r.prompt)).toEqual(["Please reply to message 7.", "Please reply to message 8."]);
      for (const { reply } of replies) expect(reply).toContain("Thank you, noted.");
    },
    120_000,
  );

  it("sends a classifier to tune predict, without a stack trace", async () => {
    const dir = fixtureCopy("notes");
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    const refused = await tune(["chat", "runs/cls", "--prompt", "hi"], { cwd: dir, env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain("is a classifier");
    expect(refused.stderr).toContain("tune predict");
    expect(hasStackTrace(refused.stderr)).toBe(false);
  }, 60_000);
});
