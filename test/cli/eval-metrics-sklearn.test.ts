import { execa } from "execa";
import { unsafeUniformIntDistribution } from "pure-rand";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../src/data/index.js";
import { classificationReport, compareDistributions } from "../../src/eval/index.js";
import { referencePython } from "../support/reference-python.js";

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
});
