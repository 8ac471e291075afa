import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { dataError } from "../data-error.js";
import type { SourceRow } from "./source-row.js";

/** Streams a Parquet file one row group at a time (pure JS, hyparquet). Rows are numbered from 1. */
export async function* readParquet(file: string): AsyncGenerator<SourceRow> {
  let buffer;
  let metadata;
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
  } catch (error) {
    throw dataError(file, undefined, `not a readable Parquet file: ${(error as Error).message}`, "Check that the file is Parquet (pandas: df.to_parquet(path)).");
  }
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd });
    for (let i = 0; i < rows.length; i++) yield { values: rows[i] as Record<string, unknown>, line: rowStart + i + 1 };
    rowStart = rowEnd;
  }
  if (rowStart === 0) throw dataError(file, undefined, "the file holds no rows", "Write at least one row to the Parquet file.");
}
