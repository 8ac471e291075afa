import type { TokenizedSplit } from "../data/index.js";
import { seededRandom, shuffled } from "../data/index.js";

/**
 * Micro-batches of example indices for one epoch: a seeded shuffle, then, when grouping by
 * length, mega-batches of 50 optimizer steps' worth of examples (`stepBatches` micro-batches a
 * step) each sorted by length, as transformers' LengthGroupedSampler does, so padding is small
 * and the order still changes every epoch.
 */
export function epochBatches(
  split: TokenizedSplit,
  batchSize: number,
  seed: number,
  epoch: number,
  groupByLength: boolean,
  stepBatches = 1,
): number[][] {
  const order = shuffled(
    Array.from({ length: split.manifest.count }, (_, i) => i),
    seededRandom(seed + epoch),
  );
  const length = (i: number) => split.ids(i).length;
  const grouped: number[] = [];
  const mega = batchSize * stepBatches * 50;
  for (let start = 0; start < order.length; start += mega) {
    const chunk = order.slice(start, start + mega);
    grouped.push(...(groupByLength ? chunk.sort((a, b) => length(b) - length(a)) : chunk));
  }
  const batches: number[][] = [];
  for (let start = 0; start < grouped.length; start += batchSize) batches.push(grouped.slice(start, start + batchSize));
  return batches;
}

/** Right-padded ids, attention mask and token labels for a micro-batch. */
export function padBatch(
  split: TokenizedSplit,
  indices: number[],
  padId: number,
): { ids: number[][]; mask: number[][]; labels: number[][] | null; classIds: number[] } {
  const longest = Math.max(...indices.map((i) => split.ids(i).length));
  const ids: number[][] = [];
  const mask: number[][] = [];
  const labels: number[][] | null = split.manifest.columns.labels ? [] : null;
  for (const i of indices) {
    const row = [...split.ids(i)];
    const pad = longest - row.length;
    ids.push([...row, ...new Array<number>(pad).fill(padId)]);
    mask.push([...new Array<number>(row.length).fill(1), ...new Array<number>(pad).fill(0)]);
    labels?.push([...(split.labels(i) ?? []), ...new Array<number>(pad).fill(-100)]);
  }
  return { ids, mask, labels, classIds: indices.map((i) => split.classId(i) ?? -1) };
}
