import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { openSafetensors } from "../../src/adapter/index.js";
import { loadTokenizer, readDatasetSplit } from "../../src/data/index.js";
import type { RunPlan } from "../../src/recipe/index.js";
import { hasStackTrace, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

const DATA = `text,label\n${Array.from({ length: 24 }, (_, i) => `"note ${i}: ${i % 2 ? "awful delay" : "lovely day"}",${i % 2 ? "bad" : "good"}`).join("\n")}\n`;
const recipe = (engine: string, fewShot = "  few_shot: {per_class: 1, seed: 3}\n") =>
  `task: prompting\nengine: ${engine}\nmodel: {base: builtin:tiny-llama}\ndata: {file: d.csv, labels: [good, bad], split: {eval: 0.25, test: 0.25, seed: 1}, max_length: 160}\ntemplate:\n  prompt: "Is this note good or bad news?\\nNote: {text}\\nAnswer:"\n${fewShot}generation: {max_new_tokens: 3}\n`;

describe("task: prompting", () => {
  it("evaluates the untrained base model as checkpoint-0: predictions, report, no training, no push", async () => {
    const dir = tempDir({
      "p.yaml": recipe("tfjs"),
      "d.csv": DATA,
      "new.csv": "text\nlovely day again\nawful delay again\n",
    });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    const run = await tune(["recipe", "p.yaml", "--out", "runs", "--json"], { cwd: dir, env });
    expect(run.exitCode, run.stderr).toBe(0);
    const events = run.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; split?: string; examples?: number });
    expect(events.some((e) => e.type === "step")).toBe(false);
    expect(events.filter((e) => e.type === "eval").map((e) => [e.split, e.examples])).toEqual([
      ["eval", 6],
      ["test", 6],
    ]);
    const checkpoint = join(dir, "runs/p/checkpoint-0");
    expect((JSON.parse(readFileSync(join(dir, "runs/p/best.json"), "utf8")) as { checkpoint: string }).checkpoint).toBe(
      "checkpoint-0",
    );
    // The adapter adds nothing: every B is zero, so predictions are the base model's.
    const adapter = openSafetensors(join(checkpoint, "adapter_model.safetensors"));
    const bs = [...adapter.tensors.keys()].filter((name) => name.endsWith("lora_B.weight"));
    expect(bs.length).toBeGreaterThan(0);
    for (const name of bs) expect(adapter.readFloat32(name).every((x) => x === 0)).toBe(true);
    adapter.close();
    const predictions = readFileSync(join(checkpoint, "predictions/eval.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { gold: string; answer: string });
    expect(predictions.map((p) => p.gold).sort()).toEqual(["bad", "bad", "bad", "good", "good", "good"]);
    expect(predictions.every((p) => typeof p.answer === "string")).toBe(true);
    const metrics = JSON.parse(readFileSync(join(checkpoint, "metrics.json"), "utf8")) as {
      eval: { metrics: Record<string, number> };
    };
    expect(Object.keys(metrics.eval.metrics)).toEqual(expect.arrayContaining(["accuracy", "f1_macro", "error_rate"]));
    expect(metrics.eval.metrics.loss).toBeUndefined();

    const written = statSync(join(checkpoint, "MANIFEST.json")).mtimeMs;
    const again = await tune(["recipe", "p.yaml", "--out", "runs"], { cwd: dir, env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(statSync(join(checkpoint, "MANIFEST.json")).mtimeMs).toBe(written);

    const push = await tune(["push", "runs/p", "--repo", "me/p"], { cwd: dir, env });
    expect(push.exitCode).toBe(2);
    expect(push.stderr).toContain("belongs to a prompting run, which trains nothing");
    const merge = await tune(["merge", "runs/p", "--out", "m"], { cwd: dir, env });
    expect(merge.exitCode).toBe(2);
    expect(hasStackTrace(push.stderr + merge.stderr)).toBe(false);

    // New texts get the run's own few-shot block (drawn from its train split) in their prompts.
    const before = new Set(readdirSync(join(dir, "cache", "datasets")));
    const predict = await tune(["predict", "runs/p", "--in", "new.csv", "--out", "o.csv"], { cwd: dir, env });
    expect(predict.exitCode, predict.stderr).toBe(0);
    const staged = readdirSync(join(dir, "cache", "datasets")).filter((key) => !before.has(key));
    expect(staged.length).toBe(1);
    const plan = JSON.parse(readFileSync(join(dir, "runs/p/plan.json"), "utf8")) as RunPlan;
    const tokenizer = loadTokenizer(
      join(
        dir,
        "cache",
        "builtin",
        readdirSync(join(dir, "cache", "builtin")).find((d) => d.startsWith("tiny-llama")) as string,
      ),
    );
    const prompt = (splitDir: string) => tokenizer.decode([...readDatasetSplit(splitDir).ids(0)]);
    const runPrompt = prompt(dirname(plan.data.manifests?.eval as string));
    const newPrompt = prompt(join(dir, "cache", "datasets", staged[0] as string, "test"));
    const block = (text: string) => text.slice(0, text.lastIndexOf("Is this note good or bad news?"));
    expect(block(runPrompt)).toContain("Answer:");
    expect(block(newPrompt)).toBe(block(runPrompt));
    expect(newPrompt).toContain("lovely day again");
  }, 120_000);

  it("runs zero-shot on the torch engine too, and tune predict answers new texts with the base model", async () => {
    const dir = tempDir({
      "p.yaml": recipe("torch", ""),
      "d.csv": DATA,
      "new.csv": "text\nlovely day again\nawful delay again\n",
    });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    const run = await tune(["recipe", "p.yaml", "--out", "runs"], { cwd: dir, env });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/eval at step 0: accuracy/);
    const predicted = await tune(["predict", "runs/p", "--in", "new.csv", "--out", "out.csv"], { cwd: dir, env });
    expect(predicted.exitCode, predicted.stderr).toBe(0);
    const rows = parse(readFileSync(join(dir, "out.csv")), { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => r.text)).toEqual(["lovely day again", "awful delay again"]);
    for (const row of rows) expect(["good", "bad", "error"]).toContain(row.label);
  }, 180_000);
});
