import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { RunPlan } from "../recipe/index.js";
import { buildExamples } from "./build-examples.js";
import { formatOf, readRows } from "./read/read-rows.js";
import { balanceExamples, sampleExamples, splitExamples, type Splits } from "./split-examples.js";

export interface LoadedExamples {
  splits: Splits;
  /** Rows dropped for empty text, per source file. */
  droppedEmpty: number;
}

/** Reads the plan's data files into examples per split: columns, cleaning, labels, sampling, split, balance. */
export async function loadExamples(plan: RunPlan): Promise<LoadedExamples> {
  const { data } = plan;
  const read = async (file: string) =>
    buildExamples(plan, file, readRows(file, formatOf(file, data.format), data.delimiter));
  let droppedEmpty = 0;
  const splits: Splits = {};
  if (data.file) {
    const loaded = await read(data.file);
    droppedEmpty += loaded.droppedEmpty;
    const pool = data.sample ? sampleExamples(loaded.examples, data.sample.rows, data.sample.seed) : loaded.examples;
    const split = splitExamples(pool, data.split, data.split.stratify && data.labels !== null);
    splits.train = split.train;
    splits.eval = split.eval;
    if (data.split.test > 0) splits.test = split.test;
  } else {
    for (const name of ["train", "eval", "test"] as const) {
      const file = data[name];
      if (!file) continue;
      const loaded = await read(file);
      droppedEmpty += loaded.droppedEmpty;
      splits[name] =
        name === "train" && data.sample
          ? sampleExamples(loaded.examples, data.sample.rows, data.sample.seed)
          : loaded.examples;
    }
  }
  if (splits.train && data.balance !== "none")
    splits.train = balanceExamples(splits.train, data.balance, data.split.seed);
  return { splits, droppedEmpty };
}

/** The data files a plan reads. */
export function sourceFiles(plan: RunPlan): string[] {
  return [plan.data.file, plan.data.train, plan.data.eval, plan.data.test].filter((f): f is string => f !== null);
}

/** sha256 of a file, streamed. */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
