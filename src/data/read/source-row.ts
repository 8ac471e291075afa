/** One record of a data file, with where it starts (1-based line; for Parquet, the row number). */
export interface SourceRow {
  values: Record<string, unknown>;
  line: number;
}

export type DataFormat = "csv" | "jsonl" | "json" | "parquet";
