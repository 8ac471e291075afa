import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkpointSteps } from "../checkpoint/index.js";
import type { RunState } from "../eval/index.js";
import { isTuneError } from "../errors/index.js";
import type { Metric, SplitName } from "../recipe/index.js";
import { readBestRecord } from "./best-record.js";
import { EVENTS_FILE } from "./event-log.js";
import { runState } from "./load-run-report.js";
import { readRunPlan } from "./read-run-plan.js";

export interface RunSummary {
  name: string;
  dir: string;
  task: string | null;
  /** Running, finished, stopped at step N, failed (with why), or not started; `unreadable` (with why) when a state file is damaged. */
  state: RunState | { kind: "unreadable"; why: string };
  /** Steps of the checkpoint folders present, ascending. */
  checkpoints: number[];
  /** The best checkpoint of a finished run and its selection value. */
  best: { step: number | null; metric: Metric; split: SplitName | null; value: number | null; passed: boolean } | null;
  updated: Date;
}

/**
 * The runs under an output root: every folder with a plan.json, newest first. A run whose
 * plan.json or best.json is damaged is listed as unreadable, saying which file, and never
 * hides the others.
 */
export function listRuns(out = "adapters"): RunSummary[] {
  const root = resolve(out);
  const entries = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory());
  const runs: RunSummary[] = [];
  for (const entry of entries) {
    const dir = join(root, entry.name);
    const stat = statSync(join(dir, "plan.json"), { throwIfNoEntry: false });
    if (!stat) continue;
    const updated = statSync(join(dir, EVENTS_FILE), { throwIfNoEntry: false })?.mtime ?? stat.mtime;
    const checkpoints = checkpointSteps(dir).reverse();
    try {
      const task = readRunPlan(dir)?.task ?? null;
      const best = readBestRecord(dir) ?? null;
      runs.push({
        name: entry.name,
        dir,
        task,
        state: runState(dir),
        checkpoints,
        best: best && {
          step: best.step,
          metric: best.metric,
          split: best.split,
          value: best.value,
          passed: best.passed,
        },
        updated,
      });
    } catch (error) {
      if (!isTuneError(error)) throw error;
      runs.push({
        name: entry.name,
        dir,
        task: null,
        state: { kind: "unreadable", why: error.problems[0]?.message ?? "a state file is damaged" },
        checkpoints,
        best: null,
        updated,
      });
    }
  }
  return runs.sort((a, b) => b.updated.getTime() - a.updated.getTime());
}
