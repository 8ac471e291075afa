/** Precision, recall, F1 and support of one class. */
export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationReport {
  /** Classes in report order: the known labels, then any other value found in gold or predicted (e.g. "error"). */
  labels: string[];
  perClass: Record<string, ClassScores>;
  accuracy: number;
  macro: Omit<ClassScores, "support">;
  weighted: Omit<ClassScores, "support">;
  micro: Omit<ClassScores, "support">;
  /** confusion[true][predicted], rows and columns in `labels` order. */
  confusion: number[][];
  examples: number;
}

/**
 * scikit-learn's classification_report / precision_recall_fscore_support with its defaults
 * (zero_division "warn", which scores 0), called with `labels=` the known labels followed by any
 * other value found in gold or predicted. Every known label is a class even when it occurs in
 * neither (a zero row, which lowers the macro average as sklearn's does), and a parse-failure
 * value such as "error" is a class with no support, as the reference systems' reports show it.
 * Without known labels the classes are the values found. F1 comes from tp, fp and fn
 * (sklearn >= 1.3), not from rounded precision and recall.
 */
export function classificationReport(
  gold: readonly string[],
  predicted: readonly string[],
  known: readonly string[] = [],
): ClassificationReport {
  if (gold.length !== predicted.length)
    throw new Error(`${gold.length} gold labels but ${predicted.length} predictions`);
  const labels = [...new Set([...known, ...gold, ...predicted])];
  const index = new Map(labels.map((label, i) => [label, i]));
  const confusion = labels.map(() => labels.map(() => 0));
  gold.forEach((g, i) => {
    const row = confusion[index.get(g) as number] as number[];
    const column = index.get(predicted[i] as string) as number;
    row[column] = (row[column] as number) + 1;
  });
  const ratio = (numerator: number, denominator: number) => (denominator === 0 ? 0 : numerator / denominator);
  const perClass: Record<string, ClassScores> = {};
  let tpAll = 0;
  let fpAll = 0;
  let fnAll = 0;
  labels.forEach((label, i) => {
    const tp = (confusion[i] as number[])[i] as number;
    const support = (confusion[i] as number[]).reduce((a, b) => a + b, 0);
    const predictedCount = confusion.reduce((n, row) => n + (row[i] as number), 0);
    const fp = predictedCount - tp;
    const fn = support - tp;
    tpAll += tp;
    fpAll += fp;
    fnAll += fn;
    perClass[label] = {
      precision: ratio(tp, tp + fp),
      recall: ratio(tp, tp + fn),
      f1: ratio(2 * tp, 2 * tp + fp + fn),
      support,
    };
  });
  const scores = labels.map((label) => perClass[label] as ClassScores);
  const total = scores.reduce((n, s) => n + s.support, 0);
  const average = (key: "precision" | "recall" | "f1", weighted: boolean) =>
    weighted
      ? ratio(
          scores.reduce((n, s) => n + s[key] * s.support, 0),
          total,
        )
      : ratio(
          scores.reduce((n, s) => n + s[key], 0),
          scores.length,
        );
  return {
    labels,
    perClass,
    accuracy: ratio(tpAll, gold.length),
    macro: { precision: average("precision", false), recall: average("recall", false), f1: average("f1", false) },
    weighted: { precision: average("precision", true), recall: average("recall", true), f1: average("f1", true) },
    micro: {
      precision: ratio(tpAll, tpAll + fpAll),
      recall: ratio(tpAll, tpAll + fnAll),
      f1: ratio(2 * tpAll, 2 * tpAll + fpAll + fnAll),
    },
    confusion,
    examples: gold.length,
  };
}
