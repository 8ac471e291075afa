import { dataError } from "../data-error.js";

/**
 * Refuses column names that repeat: every reader keys rows by name, so a second column of the
 * same name would silently replace the first one's values.
 */
export function refuseRepeatedColumns(
  file: string,
  names: readonly string[],
  where: "header" | "schema",
  line?: number,
): void {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const name of names) (seen.has(name) ? repeated : seen).add(name);
  if (repeated.size === 0) return;
  const shown = [...repeated].map((name) => (name === "" ? "an empty column" : `"${name}"`)).join(", ");
  throw dataError(
    file,
    line,
    `the ${where} names ${shown} more than once, so only the last of each would be read`,
    "Give every column its own name.",
  );
}
