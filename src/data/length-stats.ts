import type { LengthStats } from "./dataset/manifest.js";
import type { EncodedExample } from "./tokenize/encode-rendered.js";

/** Length statistics of one split, printed before training and by `tune validate`. */
export function lengthStats(
  encoded: readonly EncodedExample[],
  classIds: readonly number[] | null,
  labelNames: string[] | null,
  droppedNoTrained: number,
): LengthStats {
  const lengths = encoded.map((e) => e.ids.length).sort((a, b) => a - b);
  const at = (q: number) => lengths[Math.min(lengths.length - 1, Math.max(0, Math.ceil(q * lengths.length) - 1))] ?? 0;
  let labels: Record<string, number> | null = null;
  if (classIds && labelNames) {
    labels = Object.fromEntries(labelNames.map((name) => [name, 0]));
    for (const id of classIds) {
      const name = labelNames[id];
      if (name !== undefined) labels[name] = (labels[name] ?? 0) + 1;
    }
  }
  return {
    examples: encoded.length,
    tokens: {
      min: lengths[0] ?? 0,
      median: at(0.5),
      p95: at(0.95),
      max: lengths.at(-1) ?? 0,
      total: lengths.reduce((a, b) => a + b, 0),
    },
    truncated: encoded.filter((e) => e.truncated).length,
    dropped_no_trained_tokens: droppedNoTrained,
    trained_tokens: encoded.reduce((sum, e) => sum + e.labels.filter((l) => l !== -100).length, 0),
    labels,
  };
}
