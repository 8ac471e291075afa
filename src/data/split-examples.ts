import type { RunPlan, SplitName } from "../recipe/index.js";
import type { Example } from "./example.js";
import { seededRandom, shuffled } from "./seeded-random.js";

export type Splits = Partial<Record<SplitName, Example[]>>;

/**
 * Splits one file's examples into train/eval/test: a seeded shuffle (within each label when
 * stratified), identical on every run and machine, each split kept in file order.
 */
export function splitExamples(
  examples: readonly Example[],
  split: RunPlan["data"]["split"],
  stratify: boolean,
): Required<Splits> {
  const random = seededRandom(split.seed);
  const groups = stratify ? groupByLabel(examples) : [examples];
  const out: Required<Splits> = { train: [], eval: [], test: [] };
  for (const group of groups) {
    const order = shuffled(group, random);
    const test = Math.round(order.length * split.test);
    const evalCount = Math.round(order.length * split.eval);
    out.test.push(...order.slice(0, test));
    out.eval.push(...order.slice(test, test + evalCount));
    out.train.push(...order.slice(test + evalCount));
  }
  for (const name of ["train", "eval", "test"] as const) out[name].sort(byPosition);
  return out;
}

/** A seeded subset of `count` examples, in file order. */
export function sampleExamples(examples: readonly Example[], count: number, seed: number): Example[] {
  return shuffled(examples, seededRandom(seed)).slice(0, count).sort(byPosition);
}

/** Evens out class counts in a training split by dropping or repeating examples (seeded). */
export function balanceExamples(
  examples: readonly Example[],
  mode: "none" | "undersample" | "oversample",
  seed: number,
): Example[] {
  if (mode === "none") return [...examples];
  const random = seededRandom(seed);
  const groups = groupByLabel(examples);
  const sizes = groups.map((g) => g.length);
  const target = mode === "undersample" ? Math.min(...sizes) : Math.max(...sizes);
  const out: Example[] = [];
  for (const group of groups) {
    const order = shuffled(group, random);
    for (let i = 0; i < target; i++) out.push(order[i % order.length] as Example);
  }
  return out.sort(byPosition);
}

function groupByLabel(examples: readonly Example[]): Example[][] {
  const groups = new Map<number | null, Example[]>();
  for (const example of examples) {
    const group = groups.get(example.label) ?? [];
    group.push(example);
    groups.set(example.label, group);
  }
  return [...groups.entries()].sort(([a], [b]) => (a ?? -1) - (b ?? -1)).map(([, group]) => group);
}

function byPosition(a: Example, b: Example): number {
  return a.source.file.localeCompare(b.source.file) || a.source.line - b.source.line;
}
