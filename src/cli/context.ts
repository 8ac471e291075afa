import type { ExitCode } from "../errors/index.js";
import type { Output } from "./output.js";

/** What every verb gets: where to print, and where to leave its exit code. */
export interface CliContext {
  output: Output;
  exitCode: ExitCode;
}
