import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { redactValue } from "../errors/index.js";

export const EVENTS_FILE = "events.jsonl";

/**
 * Appends one event to `<run>/events.jsonl`, the record `tune runs`, `tune report` and resumes
 * read. Events carry text from servers and libraries (a failed push's message), so each line
 * passes the redaction point before it is written.
 */
export function appendEvent<Event extends { type: string }>(runDir: string, event: Event): void {
  appendFileSync(
    join(runDir, EVENTS_FILE),
    `${JSON.stringify(redactValue({ time: new Date().toISOString(), ...event }))}\n`,
  );
}

/**
 * Records why a run failed, when the run directory still takes writes: the failure being
 * reported may be that it does not (a full or read-only disk), which must not hide the message.
 */
export function recordFailure(runDir: string, message: string): void {
  try {
    appendEvent(runDir, { type: "error", message });
  } catch {
    // The error being reported already says the run directory cannot be written.
  }
}
