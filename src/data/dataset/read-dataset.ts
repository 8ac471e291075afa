import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TuneError } from "../../errors/index.js";
import { DATASET_FORMAT_VERSION, type DatasetManifest } from "./manifest.js";
import { SUBGROUPS_FILE } from "./write-dataset.js";

export interface TokenizedSplit {
  manifest: DatasetManifest;
  exampleIds: string[];
  /** Token ids of example `i`. */
  ids(i: number): Uint32Array;
  /** Token labels of example `i` (-100 masked), for token-label datasets. */
  labels(i: number): Int32Array | null;
  /** Class id of example `i`, for classification datasets. */
  classId(i: number): number | null;
}

/** A split's manifest.json, checked to be one this version of tune writes. */
export function readDatasetManifest(dir: string): DatasetManifest {
  const manifestFile = join(dir, "manifest.json");
  let manifest: DatasetManifest | null;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as DatasetManifest | null;
  } catch (error) {
    throw TuneError.single({
      code: "dataset-unreadable",
      message: `cannot read the dataset manifest: ${(error as Error).message}`,
      location: { file: manifestFile },
      hint: "Prepare the data again with `tune prepare <recipe>`.",
    });
  }
  if (manifest?.format !== "tune-tokenized-dataset" || manifest.format_version !== DATASET_FORMAT_VERSION) {
    throw TuneError.single({
      code: "dataset-version",
      message: `dataset format ${manifest?.format} v${manifest?.format_version} is not v${DATASET_FORMAT_VERSION}`,
      location: { file: manifestFile },
      hint: "Prepare the data again with this version of tune.",
    });
  }
  return manifest;
}

/** Opens one split written by writeDatasetSplit. */
export function readDatasetSplit(dir: string): TokenizedSplit {
  const manifest = readDatasetManifest(dir);
  const column = <T>(name: keyof DatasetManifest["columns"], make: (buffer: ArrayBuffer) => T): T | null => {
    const entry = manifest.columns[name];
    if (!entry) return null;
    const bytes = readFileSync(join(dir, entry.file));
    return make(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  };
  const ids = column("input_ids", (b) => new Uint32Array(b)) as Uint32Array;
  const offsets = column("offsets", (b) => new BigUint64Array(b)) as BigUint64Array;
  const labels = column("labels", (b) => new Int32Array(b));
  const classIds = column("class_ids", (b) => new Int32Array(b));
  const range = (i: number) => [Number(offsets[i]), Number(offsets[i + 1])] as const;
  return {
    manifest,
    exampleIds: JSON.parse(readFileSync(join(dir, manifest.example_ids), "utf8")) as string[],
    ids: (i) => ids.subarray(...range(i)),
    labels: (i) => labels?.subarray(...range(i)) ?? null,
    classId: (i) => (classIds ? (classIds[i] as number) : null),
  };
}

/** A split's eval.subgroups columns, each example's value by its id, or null when it has none. */
export function readSubgroups(dir: string): Record<string, Map<string, string>> | null {
  const file = join(dir, SUBGROUPS_FILE);
  if (!existsSync(file)) return null;
  const values = JSON.parse(readFileSync(file, "utf8")) as Record<string, string[]>;
  const ids = JSON.parse(readFileSync(join(dir, "example_ids.json"), "utf8")) as string[];
  return Object.fromEntries(
    Object.entries(values).map(([column, perExample]) => [
      column,
      new Map(ids.map((id, i) => [id, perExample[i] ?? ""])),
    ]),
  );
}
