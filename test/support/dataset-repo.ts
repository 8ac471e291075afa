import { parquetWriteBuffer } from "hyparquet-writer";

const TEXTS = ["kind and quick help", "rude and slow reply", "friendly staff, solved it", "waited hours, no answer"];

/** Labelled notes (good/bad alternate) from `from` on, as rows a dataset shard holds. */
export function noteRows(from: number, count: number): Array<{ text: string; label: string }> {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { text: `note ${i}: ${TEXTS[i % 4]}`, label: i % 2 ? "bad" : "good" };
  });
}

/** Rows as one Parquet file, as `datasets`' push_to_hub writes shards. */
export function parquetShard(rows: ReadonlyArray<Record<string, string>>): Buffer {
  const columns = Object.keys(rows[0] ?? {});
  return Buffer.from(
    parquetWriteBuffer({
      columnData: columns.map((name) => ({ name, data: rows.map((row) => row[name] as string), type: "STRING" })),
    }),
  );
}

/**
 * A dataset repo laid out as `push_to_hub` lays it out: a train split in two Parquet shards
 * and a test split in one, under data/ (24 + 8 rows).
 */
export function shardedNotes(): Record<string, Buffer | string> {
  return {
    "data/train-00000-of-00002.parquet": parquetShard(noteRows(0, 12)),
    "data/train-00001-of-00002.parquet": parquetShard(noteRows(12, 12)),
    "data/test-00000-of-00001.parquet": parquetShard(noteRows(24, 8)),
  };
}
