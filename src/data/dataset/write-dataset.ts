import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeFolders, writeFileAtomic } from "../../files/index.js";
import type { SplitName } from "../../recipe/index.js";
import type { EncodedExample } from "../tokenize/encode-rendered.js";
import { DATASET_FORMAT_VERSION, type DatasetManifest, type LengthStats } from "./manifest.js";

export interface SplitToWrite {
  split: SplitName;
  encoded: readonly EncodedExample[];
  exampleIds: readonly string[];
  /** One class id per example, or null when the task has none. */
  classIds: readonly number[] | null;
  tokenLabels: boolean;
  labelNames: string[] | null;
  stats: LengthStats;
  hashes: DatasetManifest["hashes"];
  /** eval.subgroups: each column's value per example, for distributions within groups. */
  subgroups?: Record<string, string[]>;
}

/** subgroups.json: {column: [value per example]}, beside example_ids.json. */
export const SUBGROUPS_FILE = "subgroups.json";

/** Writes one split's binary columns into `dir`, then its manifest last. */
export function writeDatasetSplit(dir: string, data: SplitToWrite): DatasetManifest {
  makeFolders(dir);
  const total = data.encoded.reduce((sum, e) => sum + e.ids.length, 0);
  const ids = new Uint32Array(total);
  const offsets = new BigUint64Array(data.encoded.length + 1);
  const labels = data.tokenLabels ? new Int32Array(total) : null;
  let position = 0;
  data.encoded.forEach((example, i) => {
    ids.set(example.ids, position);
    labels?.set(example.labels, position);
    position += example.ids.length;
    offsets[i + 1] = BigInt(position);
  });
  writeColumn(dir, "input_ids.bin", ids);
  writeColumn(dir, "offsets.bin", offsets);
  if (labels) writeColumn(dir, "labels.bin", labels);
  if (data.classIds) writeColumn(dir, "class_ids.bin", Int32Array.from(data.classIds));
  writeFileSync(join(dir, "example_ids.json"), `${JSON.stringify(data.exampleIds)}\n`);
  if (data.subgroups && Object.keys(data.subgroups).length > 0)
    writeFileSync(join(dir, SUBGROUPS_FILE), `${JSON.stringify(data.subgroups)}\n`);

  const manifest: DatasetManifest = {
    format: "tune-tokenized-dataset",
    format_version: DATASET_FORMAT_VERSION,
    split: data.split,
    count: data.encoded.length,
    columns: {
      input_ids: { file: "input_ids.bin", dtype: "uint32", length: total },
      offsets: { file: "offsets.bin", dtype: "uint64", length: offsets.length },
      ...(labels ? { labels: { file: "labels.bin", dtype: "int32" as const, length: total } } : {}),
      ...(data.classIds
        ? { class_ids: { file: "class_ids.bin", dtype: "int32" as const, length: data.classIds.length } }
        : {}),
    },
    example_ids: "example_ids.json",
    hashes: data.hashes,
    label_names: data.labelNames,
    stats: data.stats,
  };
  writeFileAtomic(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Typed arrays are little-endian on every platform Node runs on; assert it rather than assume. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeColumn(dir: string, name: string, values: Uint32Array | BigUint64Array | Int32Array): void {
  if (!LITTLE_ENDIAN) throw new Error("tune's dataset format is little-endian; this machine is big-endian");
  writeFileSync(join(dir, name), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}
