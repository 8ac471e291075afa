/** Where in a user's file a problem sits. Lines and columns are 1-based. */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

/**
 * One thing wrong with the user's input, precise enough to fix without reading code:
 * where it is, which field, what was expected, what was found, and what to do.
 */
export interface Problem {
  code: string;
  message: string;
  location?: SourceLocation;
  /** Dotted field path inside the file, e.g. `training.lr` or `data.labels[2]`. */
  field?: string;
  hint?: string;
}

export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}
