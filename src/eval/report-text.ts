import type { ClassificationReport } from "./classification-report.js";

/** A classification report laid out as scikit-learn's classification_report prints it (4 digits). */
export function classificationReportText(report: ClassificationReport): string {
  const width = Math.max(12, ...report.labels.map((l) => l.length));
  const number = (v: number) => v.toFixed(4).padStart(9);
  const row = (name: string, p: string, r: string, f: string, s: string) =>
    `${name.padStart(width)} ${p} ${r} ${f} ${s}`;
  const lines = [
    row("", "precision".padStart(9), "recall".padStart(9), "f1-score".padStart(9), "support".padStart(9)),
    "",
  ];
  for (const label of report.labels) {
    const c = report.perClass[label];
    if (c) lines.push(row(label, number(c.precision), number(c.recall), number(c.f1), String(c.support).padStart(9)));
  }
  const total = String(report.examples).padStart(9);
  lines.push("", row("accuracy", "".padStart(9), "".padStart(9), number(report.accuracy), total));
  lines.push(
    row("macro avg", number(report.macro.precision), number(report.macro.recall), number(report.macro.f1), total),
  );
  lines.push(
    row(
      "weighted avg",
      number(report.weighted.precision),
      number(report.weighted.recall),
      number(report.weighted.f1),
      total,
    ),
  );
  return lines.join("\n");
}

/** The confusion matrix with true labels down and predicted labels across. */
export function confusionMatrixText(report: ClassificationReport): string {
  const corner = "true \\ pred";
  const first = Math.max(corner.length, ...report.labels.map((l) => l.length));
  const width = Math.max(6, ...report.labels.map((l) => l.length));
  const header = `${corner.padEnd(first)} ${report.labels.map((l) => l.padStart(width)).join(" ")}`;
  const rows = report.labels.map(
    (label, i) =>
      `${label.padEnd(first)} ${(report.confusion[i] ?? []).map((n) => String(n).padStart(width)).join(" ")}`,
  );
  return [header, ...rows].join("\n");
}

/** The report in the shape of scikit-learn's classification_report(output_dict=True). */
export function classificationReportDict(
  report: ClassificationReport,
): Record<string, number | Record<string, number>> {
  const out: Record<string, number | Record<string, number>> = {};
  for (const label of report.labels) {
    const c = report.perClass[label];
    if (c) out[label] = { precision: c.precision, recall: c.recall, "f1-score": c.f1, support: c.support };
  }
  out.accuracy = report.accuracy;
  out["macro avg"] = {
    precision: report.macro.precision,
    recall: report.macro.recall,
    "f1-score": report.macro.f1,
    support: report.examples,
  };
  out["weighted avg"] = {
    precision: report.weighted.precision,
    recall: report.weighted.recall,
    "f1-score": report.weighted.f1,
    support: report.examples,
  };
  return out;
}
