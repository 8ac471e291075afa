import { basename, join } from "node:path";
import { z } from "zod";
import { readStateFile, writeFileAtomic } from "../files/index.js";
import type { BestRecord, Selection } from "../eval/index.js";
import type { Metric } from "../recipe/index.js";

const CHECKPOINT_NAME = /^checkpoint-\d+$/;

/** The folder name in what best.json says: a name, or an absolute path written by an earlier version. */
const folderName = (path: string) => basename(path.replaceAll("\\", "/"));

const BestShape = z.object({
  checkpoint: z
    .string()
    .refine((path) => CHECKPOINT_NAME.test(folderName(path)), "not a checkpoint-<step> folder")
    .nullable(),
  step: z.number().int().nonnegative().nullable(),
  metric: z.string(),
  split: z.enum(["train", "eval", "test"]).nullable(),
  value: z.number().nullable(),
  gates: z.array(z.object({ text: z.string(), value: z.number().nullable(), passed: z.boolean() })),
  passed: z.boolean(),
});

const HINT =
  "Run the recipe again (it rewrites best.json after judging every checkpoint), or name the checkpoint folder itself.";

/** The record of a selection, as the `best` event carries it (absolute checkpoint path). */
export function bestRecord(selection: Selection): BestRecord {
  return {
    checkpoint: selection.best?.dir ?? null,
    step: selection.best?.step ?? null,
    metric: selection.metric,
    split: selection.split,
    value: selection.value,
    gates: selection.gates,
    passed: selection.passed,
  };
}

/**
 * Writes best.json naming the checkpoint by its folder name, relative to the run: a run moved
 * aside by --restart, or copied, keeps pointing at its own checkpoint.
 */
export function writeBestRecord(runDir: string, record: BestRecord): void {
  const stored = { ...record, checkpoint: record.checkpoint === null ? null : basename(record.checkpoint) };
  writeFileAtomic(join(runDir, "best.json"), `${JSON.stringify(stored, null, 2)}\n`);
}

/**
 * best.json with its checkpoint resolved inside `runDir`. Whatever the file says (a name, an
 * absolute path written by an earlier version, a path into another run), only a
 * `checkpoint-<step>` folder of this run can come out of it.
 */
export function readBestRecord(runDir: string): BestRecord | undefined {
  const record = readStateFile(join(runDir, "best.json"), BestShape, HINT);
  if (!record) return undefined;
  return {
    ...record,
    metric: record.metric as Metric,
    checkpoint: record.checkpoint === null ? null : join(runDir, folderName(record.checkpoint)),
  };
}
