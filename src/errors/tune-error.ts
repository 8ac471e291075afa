import { ExitCode } from "./exit-codes.js";
import type { Problem } from "./problem.js";

/**
 * The one error type tune raises for anything the user can fix or must know about.
 * It carries every problem found (recipes report all mistakes at once) and the exit code;
 * only the CLI turns it into text.
 */
export class TuneError extends Error {
  readonly problems: readonly Problem[];
  readonly exitCode: ExitCode;

  constructor(problems: readonly Problem[], exitCode: ExitCode = ExitCode.user) {
    super(problems.map((p) => p.message).join("\n"));
    this.name = "TuneError";
    this.problems = problems;
    this.exitCode = exitCode;
  }

  static single(problem: Problem, exitCode: ExitCode = ExitCode.user): TuneError {
    return new TuneError([problem], exitCode);
  }
}

export function isTuneError(value: unknown): value is TuneError {
  return value instanceof TuneError;
}
