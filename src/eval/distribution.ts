export interface DistributionComparison {
  labels: string[];
  /** Share of each label among gold and predicted values. */
  gold: Record<string, number>;
  predicted: Record<string, number>;
  /** Half the L1 distance between the two distributions (0 identical, 1 disjoint). */
  totalVariation: number;
  /** scipy.spatial.distance.jensenshannon with base 2: the square root of the JS divergence, in [0, 1]. */
  jsDistance: number;
}

/** Predicted against true label shares, for tasks judged by the distribution (survey simulation). */
export function compareDistributions(
  gold: readonly string[],
  predicted: readonly string[],
  known: readonly string[] = [],
): DistributionComparison {
  const labels = [...known];
  for (const value of [...gold, ...predicted]) if (!labels.includes(value)) labels.push(value);
  const shares = (values: readonly string[]) =>
    Object.fromEntries(
      labels.map((label) => [
        label,
        values.length === 0 ? 0 : values.filter((v) => v === label).length / values.length,
      ]),
    );
  const p = shares(gold);
  const q = shares(predicted);
  const totalVariation = labels.reduce((n, label) => n + Math.abs((p[label] as number) - (q[label] as number)), 0) / 2;
  const kl = (a: Record<string, number>, m: Record<string, number>) =>
    labels.reduce(
      (n, label) =>
        (a[label] as number) > 0
          ? n + (a[label] as number) * Math.log2((a[label] as number) / (m[label] as number))
          : n,
      0,
    );
  const mid = Object.fromEntries(labels.map((label) => [label, ((p[label] as number) + (q[label] as number)) / 2]));
  const divergence = (kl(p, mid) + kl(q, mid)) / 2;
  return { labels, gold: p, predicted: q, totalVariation, jsDistance: Math.sqrt(Math.max(0, divergence)) };
}
