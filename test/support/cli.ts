import { fileURLToPath } from "node:url";
import { execa } from "execa";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin/tune.js", import.meta.url));

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `tune` binary as a real process, the way a user does. */
export async function tune(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const result = await execa("node", [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: options.env,
    reject: false,
    // Only a process that hangs is killed here: the test's own timeout (up to 300 s for the
    // longest runs) decides how long a slow machine may take.
    timeout: 300_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Node prints stack frames as `    at fn (file:line:col)`; user-facing output must never contain one. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+:\d+:\d+\)?$/m.test(text);
}

/**
 * Sends `signal` to a running tune once its stdout so far matches `pattern`. Lines can arrive
 * split across chunks, so the output is accumulated rather than matched chunk by chunk.
 */
export function signalWhen(
  child: { stdout?: NodeJS.ReadableStream | null; kill(signal: NodeJS.Signals): boolean },
  pattern: RegExp,
  signal: NodeJS.Signals,
): void {
  let seen = "";
  let sent = false;
  child.stdout?.on("data", (chunk: Buffer) => {
    seen += chunk.toString();
    if (!sent && pattern.test(seen)) {
      sent = true;
      child.kill(signal);
    }
  });
}
