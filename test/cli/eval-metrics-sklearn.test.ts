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
  // Listed labels that occur in neither gold nor predictions, beside parse failures.
  ...Array.from({ length: 8 }, (_, i) => {
    const listed = ["w", "x", "y", "z", "v"].slice(0, 3 + (i % 3));
    const used = listed.slice(0, 2 + (i % 2));
    const random = randomCase(200 + i, 5 + i * 11, used, i % 2 ? [...used, "error"] : used);
    return { ...random, known: listed };
  }),
  // Twenty more: sizes from 1 to 300, two to six classes, some never predicted, some never true.
  ...Array.from({ length: 20 }, (_, i) => {
    const classes = ["a", "b", "c", "d", "e", "f"].slice(0, 2 + (i % 5));
    const predicted = i % 3 === 0 ? classes.slice(1) : i % 3 === 1 ? [...classes, "error"] : classes;
    return randomCase(100 + i, 1 + ((i * 37) % 300), classes, predicted);
  }),
];

/**
 * scikit-learn's own numbers for every case, called as the evaluator documents: `labels=` the
 * known labels, then every other value found (sorted, as sklearn orders them), with scipy's
 * Jensen-Shannon distance. Per-class scores are keyed by label, so the order of the extra
 * values is not what is compared.
 */
async function sklearn(cases: Case[]): Promise<Array<Record<string, unknown>>> {
  const script = `
import json, sys
from sklearn.metrics import classification_report, confusion_matrix, precision_recall_fscore_support
from scipy.spatial.distance import jensenshannon
out = []
for case in json.loads(sys.argv[1]):
    g, p, known = case["gold"], case["pred"], case["known"]
    labels = known + sorted(set(g + p) - set(known))
    report = classification_report(g, p, labels=labels, output_dict=True, zero_division="warn")
    shares = lambda values: [values.count(l) / len(values) for l in labels]
    out.append({
        "labels": labels,
        "report": report,
        "micro": list(precision_recall_fscore_support(g, p, labels=labels, average="micro")[:3]),
        "confusion": {l: dict(zip(labels, row)) for l, row in zip(labels, confusion_matrix(g, p, labels=labels).tolist())},
        "js": float(jensenshannon(shares(g), shares(p), base=2)),
    })
print(json.dumps(out))
`;
  const result = await execa(referencePython, ["-W", "ignore", "-c", script, JSON.stringify(cases)]);
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
}

describe("the evaluator's metrics", () => {
  it("equal scikit-learn's classification report with labels=, absent and zero-division cases included, and scipy's Jensen-Shannon distance", async () => {
    const ours = CASES.map((c) => classificationReport(c.gold, c.pred, c.known));
    const expected = await sklearn(CASES);
    ours.forEach((report, i) => {
      const ref = expected[i] as {
        labels: string[];
        report: Record<string, Record<string, number> | number>;
        micro: number[];
        confusion: Record<string, Record<string, number>>;
        js: number;
      };
      const c = CASES[i] as Case;
      expect(report.labels.slice(0, c.known.length)).toEqual(c.known);
      expect([...report.labels].sort()).toEqual([...ref.labels].sort());
      expect(report.accuracy).toBeCloseTo(ref.report.accuracy as number, 12);
      for (const label of report.labels) {
        const scores = report.perClass[label];
        const theirs = ref.report[label] as Record<string, number>;
        expect([scores?.precision, scores?.recall, scores?.f1, scores?.support], label).toEqual(
          [theirs.precision, theirs.recall, theirs["f1-score"], theirs.support].map((v) =>
            expect.closeTo(v as number, 12),
          ),
        );
      }
      for (const [ours, theirs] of [
        [report.macro, ref.report["macro avg"] as Record<string, number>],
        [report.weighted, ref.report["weighted avg"] as Record<string, number>],
      ] as const) {
        expect(ours.precision).toBeCloseTo(theirs.precision as number, 12);
        expect(ours.recall).toBeCloseTo(theirs.recall as number, 12);
        expect(ours.f1).toBeCloseTo(theirs["f1-score"] as number, 12);
      }
      expect([report.micro.precision, report.micro.recall, report.micro.f1]).toEqual(
        ref.micro.map((v) => expect.closeTo(v, 12)),
      );
      report.labels.forEach((gold, row) =>
        report.labels.forEach((pred, column) =>
          expect(report.confusion[row]?.[column], `${gold} → ${pred}`).toBe(ref.confusion[gold]?.[pred]),
        ),
      );
      expect(compareDistributions(c.gold, c.pred, report.labels).jsDistance).toBeCloseTo(ref.js, 10);
    });
    // "c" has support but is never predicted: precision 0 by zero division, as sklearn scores it.
    expect(ours[2]?.perClass.c).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(ours[2]?.labels).toEqual(["a", "b", "c", "error"]);
    // A listed label found in neither gold nor predictions is a zero row, and counts in the macro average.
    expect(ours[4]?.labels).toEqual(["yes", "no", "maybe"]);
    expect(ours[4]?.perClass.maybe).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(ours[4]?.macro.precision).toBeCloseTo(2 / 3, 12);
  }, 60_000);
});
