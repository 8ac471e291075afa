import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { hasStackTrace, ROOT, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

const CONVERSATIONS = Array.from({ length: 24 }, (_, i) =>
  JSON.stringify({
    messages: [
      { role: "user", content: `Please reply to message ${i}.` },
      { role: "assistant", content: "Thank you, noted." },
    ],
  }),
).join("\n");
const recipe = (engine: string) =>
  `task: causal-lm\nengine: ${engine}\nmodel: {base: builtin:tiny-llama}\nlora: {r: 8, alpha: 16, dropout: 0.0, target_modules: all-linear}\ndata: {file: c.jsonl, split: {eval: 0.25, seed: 1}, max_length: 64}\ntraining: {max_steps: 30, batch_size: 6, lr: 0.02}\ngeneration: {max_new_tokens: 8}\n`;

describe("tune chat", () => {
  it.each(["tfjs", "torch"])(
    "answers with what the %s-trained chat model learned, one message or a piped conversation",
    async (engine) => {
      const dir = tempDir({ "c.yaml": recipe(engine), "c.jsonl": CONVERSATIONS });
      const env = { TUNE_CACHE_DIR: join(dir, "cache") };
      const trained = await tune(["recipe", "c.yaml", "--out", "runs"], { cwd: dir, env });
      expect(trained.exitCode, trained.stderr).toBe(0);

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
    const data = `text,label\n${Array.from({ length: 16 }, (_, i) => `t${i},${i % 2 ? "a" : "b"}`).join("\n")}\n`;
    const dir = tempDir({
      "k.yaml":
        "task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\ndata: {file: d.csv, labels: [a, b], split: {eval: 0.25, seed: 1}}\ntraining: {max_steps: 1, batch_size: 8}\n",
      "d.csv": data,
    });
    const env = { TUNE_CACHE_DIR: join(dir, "cache") };
    expect((await tune(["recipe", "k.yaml", "--out", "runs"], { cwd: dir, env })).exitCode).toBe(0);
    const refused = await tune(["chat", "runs/k", "--prompt", "hi"], { cwd: dir, env });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain("is a classifier");
    expect(refused.stderr).toContain("tune predict");
    expect(hasStackTrace(refused.stderr)).toBe(false);
  }, 60_000);
});
