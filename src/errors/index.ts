export { ExitCode } from "./exit-codes.js";
export { formatFieldPath, type Problem, type SourceLocation } from "./problem.js";
export { TuneError, isTuneError } from "./tune-error.js";
