import type { SplitName } from "../../recipe/index.js";

export const DATASET_FORMAT_VERSION = 1;

export interface ColumnFile {
  file: string;
  dtype: "uint32" | "uint64" | "int32";
  /** Number of elements (not bytes). */
  length: number;
}

export interface LengthStats {
  examples: number;
  tokens: { min: number; median: number; p95: number; max: number; total: number };
  truncated: number;
  /** Examples dropped because truncation left them no trained token. */
  dropped_no_trained_tokens: number;
  trained_tokens: number;
  /** Examples per label name, for classification. */
  labels: Record<string, number> | null;
}

/**
 * manifest.json of one split of a tokenized dataset (contract 2). Columns are little-endian
 * binary files: `input_ids` (uint32) indexed by `offsets` (uint64, count+1 entries), then
 * token-level `labels` (int32, -100 masked) and/or one `class_ids` entry (int32) per example.
 */
export interface DatasetManifest {
  format: "tune-tokenized-dataset";
  format_version: typeof DATASET_FORMAT_VERSION;
  split: SplitName;
  count: number;
  columns: {
    input_ids: ColumnFile;
    offsets: ColumnFile;
    labels?: ColumnFile;
    class_ids?: ColumnFile;
  };
  /** example_ids.json: the id of each example, in order. */
  example_ids: string;
  hashes: { key: string; tokenizer: string; sources: Record<string, string> };
  label_names: string[] | null;
  stats: LengthStats;
}
