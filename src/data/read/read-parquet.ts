import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";
import { dataError } from "../data-error.js";
import { refuseRepeatedColumns } from "./repeated-columns.js";
import type { SourceRow } from "./source-row.js";

const HINT =
  "Check that the file is Parquet and whole (pandas: df.to_parquet(path)); a copy cut short or damaged in transfer reads like this.";

/**
 * Streams a Parquet file one row group at a time (pure JS, hyparquet). Rows are numbered from 1.
 * The footer is checked first (readable, every top-level column named once); a row group that
 * cannot be decoded (damaged pages behind a valid footer) is reported with its rows.
 */
export async function* readParquet(file: string): AsyncGenerator<SourceRow> {
  let buffer;
  let metadata;
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
  } catch (error) {
    throw dataError(file, undefined, `not a readable Parquet file: ${(error as Error).message}`, HINT);
  }
  refuseRepeatedColumns(
    file,
    parquetSchema(metadata).children.map((column) => column.element.name),
    "schema",
  );
  let rowStart = 0;
  for (const [index, group] of metadata.row_groups.entries()) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd });
    } catch (error) {
      throw dataError(
        file,
        rowStart + 1,
        `row group ${index + 1} (rows ${rowStart + 1}-${rowEnd}) cannot be decoded: ${(error as Error).message}`,
        HINT,
      );
    }
    for (let i = 0; i < rows.length; i++) yield { values: rows[i] as Record<string, unknown>, line: rowStart + i + 1 };
    rowStart = rowEnd;
  }
  if (rowStart === 0)
    throw dataError(file, undefined, "the file holds no rows", "Write at least one row to the Parquet file.");
}
