import { describe, expect, it } from "vitest";
import { loadExamples } from "../../src/data/index.js";
import { labelledCsv, planFor } from "../support/plan.js";

const recipe = (split: string, extra = "") =>
  `task: sequence-classification\nmodel: {base: builtin:tiny-llama}\ndata:\n  file: d.csv\n  labels: [a, b, c]\n  split: ${split}\n${extra}`;
// 3 classes in proportions 6:3:1 over 200 rows.
const CSV = `text,label\n${Array.from({ length: 200 }, (_, i) => `row ${i},${i % 10 < 6 ? "a" : i % 10 < 9 ? "b" : "c"}`).join("\n")}\n`;

describe("seeded splits", () => {
  it("are identical on every run", async () => {
    const { plan } = await planFor(recipe("{eval: 0.2, test: 0.1, seed: 7}"), { "d.csv": CSV });
    const first = await loadExamples(plan);
    const second = await loadExamples(plan);
    for (const name of ["train", "eval", "test"] as const) {
      expect(second.splits[name]?.map((e) => e.id)).toEqual(first.splits[name]?.map((e) => e.id));
    }
    expect(first.splits.train).toHaveLength(140);
    expect(first.splits.eval).toHaveLength(40);
    expect(first.splits.test).toHaveLength(20);
    const all = [...(first.splits.train ?? []), ...(first.splits.eval ?? []), ...(first.splits.test ?? [])].map(
      (e) => e.id,
    );
    expect(new Set(all).size).toBe(200);
  });

  it("pin the exact rows for a seed, so a change of algorithm cannot pass unnoticed", async () => {
    const { plan } = await planFor(recipe("{eval: 0.05, test: 0.05, seed: 42}"), { "d.csv": CSV });
    const { splits } = await loadExamples(plan);
    expect(splits.test?.map((e) => e.fields.text)).toEqual([
      "row 1",
      "row 23",
      "row 34",
      "row 46",
      "row 57",
      "row 91",
      "row 96",
      "row 139",
      "row 182",
      "row 192",
    ]);
    const again = await loadExamples(
      (await planFor(recipe("{eval: 0.05, test: 0.05, seed: 42}"), { "d.csv": CSV })).plan,
    );
    expect(again.splits.test?.map((e) => e.fields.text)).toEqual(splits.test?.map((e) => e.fields.text));
    const other = await loadExamples(
      (await planFor(recipe("{eval: 0.05, test: 0.05, seed: 43}"), { "d.csv": CSV })).plan,
    );
    expect(other.splits.test?.map((e) => e.fields.text)).not.toEqual(splits.test?.map((e) => e.fields.text));
  });

  it("keep label proportions in every split when stratified", async () => {
    const { plan } = await planFor(recipe("{eval: 0.2, test: 0.2, seed: 3, stratify: true}"), { "d.csv": CSV });
    const { splits } = await loadExamples(plan);
    const counts = (name: "train" | "eval" | "test") =>
      [0, 1, 2].map((id) => splits[name]?.filter((e) => e.label === id).length);
    expect(counts("eval")).toEqual([24, 12, 4]);
    expect(counts("test")).toEqual([24, 12, 4]);
    expect(counts("train")).toEqual([72, 36, 12]);
  });

  it("keep each split in file order", async () => {
    const { plan } = await planFor(recipe("{eval: 0.3, test: 0.3, seed: 1}"), { "d.csv": CSV });
    const { splits } = await loadExamples(plan);
    for (const examples of Object.values(splits)) {
      const lines = examples.map((e) => e.source.line);
      expect(lines).toEqual([...lines].sort((a, b) => a - b));
    }
  });

  it("sample a seeded subset and balance the training classes", async () => {
    const { plan } = await planFor(
      recipe("{eval: 0.1, test: 0.1, seed: 5}", "  sample: {rows: 100, seed: 9}\n  balance: undersample\n"),
      { "d.csv": CSV },
    );
    const { splits } = await loadExamples(plan);
    const total = Object.values(splits).reduce((n, s) => n + s.length, 0);
    expect(total).toBeLessThan(100);
    const train = splits.train ?? [];
    const perClass = [0, 1, 2].map((id) => train.filter((e) => e.label === id).length);
    expect(new Set(perClass).size).toBe(1);
    const over = await planFor(recipe("{eval: 0.1, test: 0.1, seed: 5}", "  balance: oversample\n"), { "d.csv": CSV });
    const overTrain = (await loadExamples(over.plan)).splits.train ?? [];
    expect([0, 1, 2].map((id) => overTrain.filter((e) => e.label === id).length)).toEqual([96, 96, 96]);
  });

  it("map raw label codes, clean text and count rows dropped for empty text", async () => {
    const { plan } = await planFor(
      'task: sequence-classification\nmodel: {base: builtin:tiny-llama}\ndata:\n  train: t.csv\n  labels: [oppose, support]\n  label_map: {"0": oppose, "1": support}\n  columns: {label: stance}\n  clean: {strip_urls: true, strip_mentions: true}\n',
      {
        "t.csv":
          'text,stance\n"Going to the march! https://t.co/abc @friend see you",1\nhttps://only.a/link,0\n"Not   for me",0\n',
      },
    );
    const { splits, droppedEmpty } = await loadExamples(plan);
    expect(droppedEmpty).toBe(1);
    expect(splits.train?.map((e) => [e.fields.text, e.label])).toEqual([
      ["Going to the march! see you", 1],
      ["Not for me", 0],
    ]);
  });

  it("takes integer labels as ids when they are not label names", async () => {
    const { plan } = await planFor(recipe("{eval: 0.2, test: 0.2}"), { "d.csv": labelledCsv(30, ["0", "1", "2"]) });
    const { splits } = await loadExamples(plan);
    const train = splits.train ?? [];
    expect(train.every((e) => e.fields.label === ["a", "b", "c"][e.label ?? -1])).toBe(true);
    expect(new Set(train.map((e) => e.label))).toEqual(new Set([0, 1, 2]));
  });
});
