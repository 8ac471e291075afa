import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareDistributions, evaluatePredictions, parseAnswer } from "../../src/eval/index.js";
import { planFor } from "../support/plan.js";

describe("the evaluator's metrics", () => {
  it("compares label distributions by total variation and Jensen-Shannon distance", () => {
    const same = compareDistributions(["a", "b", "a"], ["b", "a", "a"]);
    expect(same.totalVariation).toBe(0);
    expect(same.jsDistance).toBe(0);
    const disjoint = compareDistributions(["a", "a"], ["b", "b"]);
    expect(disjoint.totalVariation).toBe(1);
    expect(disjoint.jsDistance).toBeCloseTo(1, 12);
    expect(compareDistributions(["a", "a", "b", "b"], ["a", "a", "a", "b"])).toMatchObject({
      gold: { a: 0.5, b: 0.5 },
      predicted: { a: 0.75, b: 0.25 },
      totalVariation: 0.25,
    });
  });
});

describe("parsing generated answers into the label set", () => {
  const labels = ["Problem-Solution", "Call-to-Action", "Intention", "Execution", "none"];
  const contains = { match: "contains" as const, fallback: "error" };
  it.each([
    ["Call-to-Action", "Call-to-Action"],
    ["call-to-action.", "Call-to-Action"],
    ["  INTENTION!  ", "Intention"],
    ["The answer is: Execution, because they went.", "Execution"],
    ["Intention, or maybe Execution", "Intention"],
    ["Execution (not an intention)", "Execution"],
    ['"none"', "none"],
    ["", "error"],
    ["I cannot tell.", "error"],
    ["Interventional", "error"],
  ])("contains: %j -> %s", (answer, label) => {
    expect(parseAnswer(answer, labels, contains)).toBe(label);
  });

  it("exact, first-word and answer_after", () => {
    expect(parseAnswer("Intention", labels, { match: "exact", fallback: "error" })).toBe("Intention");
    expect(parseAnswer("Intention of acting", labels, { match: "exact", fallback: "error" })).toBe("error");
    expect(parseAnswer("execution: they marched", labels, { match: "first-word", fallback: "error" })).toBe(
      "Execution",
    );
    expect(
      parseAnswer("Label: Intention. Reason: Execution comes later", labels, {
        match: "first-word",
        fallback: "error",
        answerAfter: "label:",
      }),
    ).toBe("Intention");
    expect(parseAnswer("Yes\nlabel: none", ["yes", "none"], { ...contains, answerAfter: "label:" })).toBe("none");
    // Overlapping labels: the longest one mentioned at the same place wins.
    expect(parseAnswer("Call to action now", ["Call", "Call to action"], contains)).toBe("Call to action");
  });
});

describe("label shares within subgroups", () => {
  it("compares true and predicted shares inside each value of a column, with hand-computed distances", async () => {
    const { plan, dir } = await planFor(
      "task: sequence-classification\nmodel: {base: builtin:tiny-llama}\ndata: {file: d.csv, labels: [yes, no]}\n",
      { "d.csv": "text,label\na,yes\n" },
    );
    // Group "north": gold yes,yes,no,no; predicted yes,yes,yes,no -> shares (0.5,0.5) vs (0.75,0.25): TV 0.25.
    // Group "south": gold yes,no; predicted no,yes -> identical shares: TV 0, JS 0.
    const rows = [
      ["1", "yes", "yes", "north"],
      ["2", "yes", "yes", "north"],
      ["3", "no", "yes", "north"],
      ["4", "no", "no", "north"],
      ["5", "yes", "no", "south"],
      ["6", "no", "yes", "south"],
    ];
    const file = join(dir, "predictions.jsonl");
    writeFileSync(
      file,
      rows
        .map(([id, gold, pred]) =>
          JSON.stringify({
            id,
            gold,
            pred,
            probs: { yes: pred === "yes" ? 0.9 : 0.1, no: pred === "yes" ? 0.1 : 0.9 },
          }),
        )
        .join("\n"),
    );
    const evaluation = evaluatePredictions(plan, "eval", file, {
      region: new Map(rows.map(([id, , , region]) => [id as string, region as string])),
    });
    const [north, south] = evaluation.subgroups?.region ?? [];
    expect(north).toMatchObject({ value: "north", examples: 4 });
    expect(north?.distribution.totalVariation).toBeCloseTo(0.25, 12);
    // JS distance (base 2) between (0.5, 0.5) and (0.75, 0.25), by hand.
    const m = [0.625, 0.375];
    const kl = (p: number[]) => p.reduce((sum, x, i) => sum + (x === 0 ? 0 : x * Math.log2(x / (m[i] as number))), 0);
    expect(north?.distribution.jsDistance).toBeCloseTo(Math.sqrt((kl([0.5, 0.5]) + kl([0.75, 0.25])) / 2), 10);
    expect(south).toMatchObject({ value: "south", examples: 2 });
    expect(south?.distribution.totalVariation).toBe(0);
    expect(south?.distribution.jsDistance).toBeCloseTo(0, 12);
  });
});
