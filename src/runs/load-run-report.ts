import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { findCheckpoints } from "../checkpoint/index.js";
import type { CheckpointMetrics, RunReport, RunState } from "../eval/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import { SPLITS, type SplitName } from "../recipe/index.js";
import { readBestRecord } from "./best-record.js";
import { checkpointEvaluations, checkpointMetrics } from "../checkpoint/index.js";
import { EVENTS_FILE } from "./event-log.js";
import { readRunPlan } from "./read-run-plan.js";
import { ownerAlive, readLockOwner, type LockOwner } from "./run-lock.js";

const History = z.object({ log_history: z.array(z.looseObject({ step: z.number() })) });

/** A run directory's plan, state, per-checkpoint metrics, best checkpoint and training curves. */
export function loadRunReport(runDir: string): RunReport {
  const plan = readRunPlan(runDir);
  if (!plan) {
    throw TuneError.single(
      {
        code: "run-missing",
        message: `${runDir} is not a run directory (no plan.json)`,
        location: { file: runDir },
        hint: "Pass adapters/<run-name>; `tune runs` lists them.",
      },
      ExitCode.user,
    );
  }
  const complete = findCheckpoints(runDir).valid;
  const checkpoints = evaluatedCheckpoints(runDir, readEvents(runDir), complete);
  const best = readBestRecord(runDir) ?? null;
  const bestDir = best?.checkpoint ?? checkpoints.at(-1)?.dir ?? null;
  const bestEvaluations = bestDir ? checkpointEvaluations(bestDir) : {};
  const newest = complete[0]?.dir;
  return {
    plan,
    state: runState(runDir),
    best,
    checkpoints,
    bestEvaluations,
    history: newest ? trainingHistory(newest) : [],
  };
}

/** trainer_state.json's log history; a checkpoint that passed its manifest check has a sound one, else the curves are left out. */
function trainingHistory(checkpoint: string): RunReport["history"] {
  try {
    const parsed = History.safeParse(JSON.parse(readFileSync(join(checkpoint, "trainer_state.json"), "utf8")));
    return parsed.success ? (parsed.data.log_history as RunReport["history"]) : [];
  } catch {
    return [];
  }
}

interface LoggedEvent {
  type: string;
  step?: number;
  split?: SplitName;
  metrics?: Record<string, number>;
  message?: string;
}

/**
 * Metrics of every checkpoint the run evaluated, from its events (so checkpoints retention has
 * since deleted still show), completed by the metrics.json of those on disk; the last
 * evaluation of a step wins when a resumed run judged it again.
 */
function evaluatedCheckpoints(
  runDir: string,
  events: readonly LoggedEvent[],
  complete: ReadonlyArray<{ dir: string; step: number }>,
): CheckpointMetrics[] {
  const byStep = new Map<number, CheckpointMetrics>();
  for (const event of events) {
    if (
      event.type !== "eval" ||
      typeof event.step !== "number" ||
      !SPLITS.includes(event.split as SplitName) ||
      typeof event.metrics !== "object"
    )
      continue;
    const entry = byStep.get(event.step) ?? {
      dir: join(runDir, `checkpoint-${event.step}`),
      step: event.step,
      splits: {},
    };
    entry.splits[event.split as SplitName] = event.metrics ?? {};
    byStep.set(event.step, entry);
  }
  for (const { dir, step } of complete) {
    const recorded = checkpointMetrics(dir, step);
    byStep.set(step, { ...recorded, splits: { ...byStep.get(step)?.splits, ...recorded.splits } });
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

function readEvents(runDir: string): LoggedEvent[] {
  const file = join(runDir, EVENTS_FILE);
  if (!existsSync(file)) return [];
  // A line torn by a kill mid-write is skipped, not fatal.
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .flatMap((line) => {
      try {
        const event = JSON.parse(line) as unknown;
        return event !== null && typeof event === "object" && typeof (event as LoggedEvent).type === "string"
          ? [event as LoggedEvent]
          : [];
      } catch {
        return [];
      }
    });
}

/** Events that say nothing of how far a run got: warnings, and the merge and pushes after `best`. */
const ASIDE: ReadonlySet<string> = new Set(["warning", "merged", "pushed"]);

/**
 * What became of a run, from its events and lock file: running (the lock's process is alive),
 * finished, stopped by a signal, failed with the error it reported, or killed (a lock left by a
 * dead process). A run reporting on itself holds its own lock, so there its events decide.
 */
export function runState(runDir: string): RunState {
  const events = readEvents(runDir);
  const step = events.reduce(
    (s, e) =>
      typeof e.step === "number" && (e.type === "step" || e.type === "checkpoint" || e.type === "resume") ? e.step : s,
    0,
  );
  const last = events.findLast((e) => !ASIDE.has(e.type));
  const ended = endedAs(last, step);
  const owner = readLockOwner(runDir);
  if (owner && !("unreadable" in owner) && ownerAlive(owner))
    return ended && ownedHere(owner) ? ended : { kind: "running", step };
  if (owner) return { kind: "failed", step, why: "the process was killed; run the same command again to resume" };
  if (!last) return { kind: "not started" };
  if (ended) return ended;
  if (last.type === "end" || last.type === "eval") return { kind: "finished", step };
  return { kind: "failed", step, why: "it ended without finishing; run the same command again to resume" };
}

/** The state a run's last event says it ended in, or null when that event is not an ending. */
function endedAs(last: LoggedEvent | undefined, step: number): RunState | null {
  switch (last?.type) {
    case "best":
      return { kind: "finished", step };
    case "stopped":
      return { kind: "stopped", step };
    case "error":
      return { kind: "failed", step, why: last?.message ?? "unknown error" };
    default:
      return null;
  }
}

function ownedHere(owner: LockOwner): boolean {
  return owner.pid === process.pid && owner.host === hostname();
}
