import { dataError, formatOf, readRows } from "../data/index.js";

/** Gold and predicted labels read from any data file with `gold` and `pred` columns. */
export async function labelsFromFile(file: string): Promise<{ gold: string[]; predicted: string[] }> {
  const gold: string[] = [];
  const predicted: string[] = [];
  for await (const row of readRows(file, formatOf(file, "auto"))) {
    for (const column of ["gold", "pred"] as const) {
      const value = row.values[column];
      if (value === undefined || value === null || value === "") {
        throw dataError(
          file,
          row.line,
          `this row has no ${column} value`,
          "Every row needs a gold (true) and a pred (predicted) label.",
          column,
        );
      }
    }
    gold.push(String(row.values.gold));
    predicted.push(String(row.values.pred));
  }
  if (gold.length === 0)
    throw dataError(file, undefined, "the file holds no rows", "Add rows with gold and pred columns.");
  return { gold, predicted };
}
