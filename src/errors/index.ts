export { ExitCode } from "./exit-codes.js";
export { formatFieldPath, type Problem, type SourceLocation } from "./problem.js";
export { TuneError, isTuneError } from "./tune-error.js";
export { redactSecrets, redactValue, registerSecret } from "./redact-secrets.js";
export { fileSystemFailure, type FileSystemContext } from "./file-system-failure.js";
export { invalidUtf8Position } from "./invalid-utf8.js";
