import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import type { RunPlan } from "../recipe/index.js";
import { buildExamples } from "./build-examples.js";
import type { Example } from "./example.js";
import { locateData, type LocatedData } from "./locate-data.js";
import { formatOf, readRows } from "./read/read-rows.js";
import { balanceExamples, sampleExamples, splitExamples, type Splits } from "./split-examples.js";

export interface LoadedExamples {
  splits: Splits;
  /** Rows dropped for empty text, per source file. */
  droppedEmpty: number;
}

/**
 * Reads the plan's data into examples per split: columns, cleaning, labels, sampling, split,
 * balance. A role with several files (a Hub split's shards) reads them in order, one after the
 * other; their rows are numbered per file, so without an id column their ids are `<file>:<row>`.
 */
export async function loadExamples(plan: RunPlan, located?: LocatedData): Promise<LoadedExamples> {
  const { data } = plan;
  const { files } = located ?? (await locateData(plan));
  let droppedEmpty = 0;
  const read = async (paths: readonly string[]) => {
    const examples: Example[] = [];
    for (const file of paths) {
      const loaded = await buildExamples(plan, file, readRows(file, formatOf(file, data.format), data.delimiter));
      droppedEmpty += loaded.droppedEmpty;
      const named = paths.length > 1 && !data.columns.id;
      for (const example of loaded.examples)
        examples.push(named ? { ...example, id: `${basename(file)}:${example.id}` } : example);
    }
    return examples;
  };
  const splits: Splits = {};
  if (files.pool) {
    const examples = await read(files.pool);
    const pool = data.sample ? sampleExamples(examples, data.sample.rows, data.sample.seed) : examples;
    const split = splitExamples(pool, data.split, data.split.stratify && data.labels !== null);
    splits.train = split.train;
    splits.eval = split.eval;
    if (data.split.test > 0) splits.test = split.test;
  } else {
    for (const name of ["train", "eval", "test"] as const) {
      const paths = files[name];
      if (!paths) continue;
      const examples = await read(paths);
      splits[name] =
        name === "train" && data.sample ? sampleExamples(examples, data.sample.rows, data.sample.seed) : examples;
    }
  }
  if (splits.train && data.balance !== "none")
    splits.train = balanceExamples(splits.train, data.balance, data.split.seed);
  return { splits, droppedEmpty };
}

/** sha256 of a file, streamed. */
export async function hashFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
