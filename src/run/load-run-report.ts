import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { findCheckpoints } from "../checkpoint/index.js";
import type { CheckpointMetrics, RunReport, RunState, SplitEvaluation } from "../eval/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import type { RunPlan, SplitName } from "../recipe/index.js";
import { checkpointMetrics } from "./checkpoint-metrics.js";

export const LOCK_FILE = "run.lock";

/** A run directory's plan, state, per-checkpoint metrics, best checkpoint and training curves. */
export function loadRunReport(runDir: string): RunReport {
  const planFile = join(runDir, "plan.json");
  if (!existsSync(planFile)) {
    throw TuneError.single({ code: "run-missing", message: `${runDir} is not a run directory (no plan.json)`, location: { file: runDir }, hint: "Pass adapters/<run-name>; `tune runs` lists them." }, ExitCode.user);
  }
  const plan = JSON.parse(readFileSync(planFile, "utf8")) as RunPlan;
  const complete = findCheckpoints(runDir).valid;
  const checkpoints = evaluatedCheckpoints(runDir, readEvents(runDir), complete);
  const bestFile = join(runDir, "best.json");
  const best = existsSync(bestFile) ? (JSON.parse(readFileSync(bestFile, "utf8")) as RunReport["best"]) : null;
  const bestDir = best?.checkpoint ?? checkpoints.at(-1)?.dir ?? null;
  const metricsFile = bestDir ? join(bestDir, "metrics.json") : null;
  const bestEvaluations = metricsFile && existsSync(metricsFile) ? (JSON.parse(readFileSync(metricsFile, "utf8")) as Partial<Record<SplitName, SplitEvaluation>>) : {};
  const newest = complete[0]?.dir;
  const stateFile = newest ? join(newest, "trainer_state.json") : null;
  const history = stateFile && existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, "utf8")) as { log_history: RunReport["history"] }).log_history : [];
  return { plan, state: runState(runDir), best, checkpoints, bestEvaluations, history };
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
function evaluatedCheckpoints(runDir: string, events: readonly LoggedEvent[], complete: ReadonlyArray<{ dir: string; step: number }>): CheckpointMetrics[] {
  const byStep = new Map<number, CheckpointMetrics>();
  for (const event of events) {
    if (event.type !== "eval" || event.step === undefined || !event.split) continue;
    const entry = byStep.get(event.step) ?? { dir: join(runDir, `checkpoint-${event.step}`), step: event.step, splits: {} };
    entry.splits[event.split] = event.metrics ?? {};
    byStep.set(event.step, entry);
  }
  for (const { dir, step } of complete) {
    const recorded = checkpointMetrics(dir, step);
    byStep.set(step, { ...recorded, splits: { ...byStep.get(step)?.splits, ...recorded.splits } });
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

function readEvents(runDir: string): LoggedEvent[] {
  const file = join(runDir, "events.jsonl");
  if (!existsSync(file)) return [];
  // A line torn by a kill mid-write is skipped, not fatal.
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LoggedEvent];
      } catch {
        return [];
      }
    });
}

/**
 * What became of a run, from its events and lock file: running (the lock's process is alive),
 * finished, stopped by a signal, failed with the error it reported, or killed (a lock left by a
 * dead process).
 */
export function runState(runDir: string): RunState {
  const events = readEvents(runDir);
  const step = events.reduce((s, e) => (typeof e.step === "number" && (e.type === "step" || e.type === "checkpoint" || e.type === "resume") ? e.step : s), 0);
  const lockFile = join(runDir, LOCK_FILE);
  if (existsSync(lockFile)) {
    const pid = Number((JSON.parse(readFileSync(lockFile, "utf8")) as { pid: number }).pid);
    if (processAlive(pid)) return { kind: "running", step };
    return { kind: "failed", step, why: "the process was killed; run the same command again to resume" };
  }
  const last = events.at(-1);
  if (!last) return { kind: "not started" };
  if (last.type === "best" || last.type === "end" || last.type === "eval") return { kind: "finished", step };
  if (last.type === "stopped") return { kind: "stopped", step };
  if (last.type === "error") return { kind: "failed", step, why: last.message ?? "unknown error" };
  return { kind: "failed", step, why: "it ended without finishing; run the same command again to resume" };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
