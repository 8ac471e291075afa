import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../src/data/index.js";
import { classificationReport, compareDistributions, evaluatePredictions, parseAnswer } from "../../src/eval/index.js";
import { planFor } from "../support/plan.js";
import { referencePython } from "../support/reference-python.js";
import { unsafeUniformIntDistribution } from "pure-rand";

interface Case {
  gold: string[];
  pred: string[];
  known: string[];
}

function randomCase(seed: number, size: number, labels: string[], predicted: string[]): Case {
  const random = seededRandom(seed);
  const pick = (from: string[]) => from[unsafeUniformIntDistribution(0, from.length - 1, random)] as string;
  const gold = Array.from({ length: size }, () => pick(labels));
  // Mostly right, sometimes another label, so every cell of the matrix is exercised.
  const pred = gold.map((g) => (unsafeUniformIntDistribution(0, 9, random) < 6 ? g : pick(predicted)));
  return { gold, pred, known: labels };
}

const CASES: Case[] = [
  randomCase(1, 200, ["Left", "Center", "Right"], ["Left", "Center", "Right"]),
  randomCase(
    2,
    57,
    ["none", "Problem-Solution", "Call-to-Action", "Intention", "Execution"],
    ["none", "Call-to-Action", "error"],
  ),
  // A class never predicted, a class never true, parse failures: every zero-division path.
  { gold: ["a", "a", "b", "b", "c"], pred: ["a", "b", "a", "a", "error"], known: ["a", "b", "c"] },
  { gold: ["a", "a", "a"], pred: ["b", "b", "b"], known: ["a", "b"] },
  { gold: ["yes", "yes", "no"], pred: ["yes", "yes", "no"], known: ["yes", "no", "maybe"] },
  // Twenty more: sizes from 1 to 300, two to six classes, some never predicted, some never true.
  ...Array.from({ length: 20 }, (_, i) => {
    const classes = ["a", "b", "c", "d", "e", "f"].slice(0, 2 + (i % 5));
    const predicted = i % 3 === 0 ? classes.slice(1) : i % 3 === 1 ? [...classes, "error"] : classes;
    return randomCase(100 + i, 1 + ((i * 37) % 300), classes, predicted);
  }),
];

/** scikit-learn's own numbers for every case, with scipy's Jensen-Shannon distance. */
async function sklearn(cases: Case[], labels: string[][]): Promise<Array<Record<string, unknown>>> {
  const script = `
import json, sys
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, precision_recall_fscore_support
from scipy.spatial.distance import jensenshannon
out = []
for case, labels in zip(json.loads(sys.argv[1]), json.loads(sys.argv[2])):
    g, p = case["gold"], case["pred"]
    report = classification_report(g, p, output_dict=True, zero_division="warn")
    per = precision_recall_fscore_support(g, p, labels=labels, average=None, zero_division="warn")
    shares = lambda values: [values.count(l) / len(values) for l in labels]
    out.append({
        "accuracy": accuracy_score(g, p),
        "per": [list(map(float, column)) for column in per],
        "macro": report["macro avg"], "weighted": report["weighted avg"],
        "micro": list(precision_recall_fscore_support(g, p, average="micro")[:3]),
        "confusion": confusion_matrix(g, p, labels=labels).tolist(),
        "js": float(jensenshannon(shares(g), shares(p), base=2)),
    })
print(json.dumps(out))
`;
  const result = await execa(referencePython, [
    "-W",
    "ignore",
    "-c",
    script,
    JSON.stringify(cases),
    JSON.stringify(labels),
  ]);
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
}

describe("the evaluator's metrics", () => {
  it("equal scikit-learn's classification report, zero-division cases included, and scipy's Jensen-Shannon distance", async () => {
    const ours = CASES.map((c) => classificationReport(c.gold, c.pred, c.known));
    const expected = await sklearn(
      CASES,
      ours.map((r) => r.labels),
    );
    ours.forEach((report, i) => {
      const ref = expected[i] as {
        accuracy: number;
        per: number[][];
        macro: Record<string, number>;
        weighted: Record<string, number>;
        micro: number[];
        confusion: number[][];
        js: number;
      };
      expect(report.accuracy).toBeCloseTo(ref.accuracy, 12);
      report.labels.forEach((label, k) => {
        const scores = report.perClass[label];
        expect([scores?.precision, scores?.recall, scores?.f1, scores?.support]).toEqual(
          ref.per.map((column) => expect.closeTo(column[k] as number, 12)),
        );
      });
      for (const [ours, theirs] of [
        [report.macro, ref.macro],
        [report.weighted, ref.weighted],
      ] as const) {
        expect(ours.precision).toBeCloseTo(theirs.precision as number, 12);
        expect(ours.recall).toBeCloseTo(theirs.recall as number, 12);
        expect(ours.f1).toBeCloseTo(theirs["f1-score"] as number, 12);
      }
      expect([report.micro.precision, report.micro.recall, report.micro.f1]).toEqual(
        ref.micro.map((v) => expect.closeTo(v, 12)),
      );
      expect(report.confusion).toEqual(ref.confusion);
      const c = CASES[i] as Case;
      expect(compareDistributions(c.gold, c.pred, report.labels).jsDistance).toBeCloseTo(ref.js, 10);
    });
    // "c" has support but is never predicted: precision 0 by zero division, as sklearn scores it.
    expect(ours[2]?.perClass.c).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(ours[2]?.labels).toEqual(["a", "b", "c", "error"]);
    // A recipe label found in neither gold nor predictions is not a class (sklearn's default).
    expect(ours[4]?.labels).toEqual(["yes", "no"]);
  }, 60_000);

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
