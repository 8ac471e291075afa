import { TuneError } from "../errors/index.js";

/** A problem in a user's data file, at a line (or row) when one is known. */
export function dataError(
  file: string,
  line: number | undefined,
  message: string,
  hint: string,
  field?: string,
): TuneError {
  return TuneError.single({
    code: "data-invalid",
    message: field ? `${field}: ${message}` : message,
    location: line === undefined ? { file } : { file, line },
    ...(field ? { field } : {}),
    hint,
  });
}
