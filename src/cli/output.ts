import { redactSecrets, redactValue, type Problem } from "../errors/index.js";

/** Where the CLI writes; the only place in tune that prints. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** One JSON document on stdout (the `--json` mode of every verb). */
  json(value: unknown): void;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  json: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
};

/**
 * Everything the CLI prints passes this point: no token reaches a terminal or a log, and no
 * control character from a data file, a model's answer or a Hub becomes a terminal command
 * (clear the screen, set the title or the clipboard, hide a line). JSON escapes ESC and the
 * other C0 characters itself.
 */
export function guardedOutput(output: Output): Output {
  return {
    out: (text) => output.out(visibleControls(redactSecrets(text))),
    err: (text) => output.err(visibleControls(redactSecrets(text))),
    json: (value) => output.json(redactValue(value)),
  };
}

// C0 but newline and tab, DEL, and C1: what a terminal acts on instead of showing.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Each control character as the `\xNN` escape that names it. */
export function visibleControls(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** `file:line:column  field: message` and an indented hint, like a compiler. */
export function formatProblem(problem: Problem): string {
  const { location } = problem;
  const where = location
    ? [location.file, location.line, location.column].filter((part) => part !== undefined).join(":")
    : undefined;
  const head = where ? `${where}  ${problem.message}` : problem.message;
  return problem.hint ? `${head}\n    ${problem.hint}` : head;
}

/**
 * The problems and their count. Refused input (exit 2) is refused before anything is written;
 * a failure of the machine or an engine may come after a run wrote checkpoints, so only the
 * former says nothing was changed.
 */
export function formatProblems(problems: readonly Problem[], refusedInput: boolean): string {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return `${problems.map((p) => `error: ${formatProblem(p)}`).join("\n")}\n${count}${refusedInput ? "; nothing was changed" : ""}.`;
}
