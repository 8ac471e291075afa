import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkpointSteps } from "../checkpoint/index.js";
import type { RunState } from "../eval/index.js";
import type { Metric, RunPlan, SplitName } from "../recipe/index.js";
import { runState } from "./load-run-report.js";

export interface RunSummary {
  name: string;
  dir: string;
  task: string | null;
  /** Running, finished, stopped at step N, failed (with why), or not started; `unreadable` when plan.json is damaged. */
  state: RunState | { kind: "unreadable" };
  /** Steps of the checkpoint folders present, ascending. */
  checkpoints: number[];
  /** The best checkpoint of a finished run and its selection value. */
  best: { step: number | null; metric: Metric; split: SplitName | null; value: number | null; passed: boolean } | null;
  updated: Date;
}

/** The runs under an output root: every folder with a plan.json, newest first. */
export function listRuns(out = "adapters"): RunSummary[] {
  const root = resolve(out);
  const entries = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory());
  const runs: RunSummary[] = [];
  for (const entry of entries) {
    const dir = join(root, entry.name);
    const planFile = join(dir, "plan.json");
    const stat = statSync(planFile, { throwIfNoEntry: false });
    if (!stat) continue;
    const checkpoints = checkpointSteps(dir).reverse();
    let task: string | null = null;
    let state: RunSummary["state"];
    try {
      task = (JSON.parse(readFileSync(planFile, "utf8")) as RunPlan).task;
      state = runState(dir);
    } catch {
      state = { kind: "unreadable" };
    }
    const bestFile = join(dir, "best.json");
    const best = existsSync(bestFile) ? (JSON.parse(readFileSync(bestFile, "utf8")) as RunSummary["best"]) : null;
    const updated = statSync(join(dir, "events.jsonl"), { throwIfNoEntry: false })?.mtime ?? stat.mtime;
    runs.push({ name: entry.name, dir, task, state, checkpoints, best: best && { step: best.step, metric: best.metric, split: best.split, value: best.value, passed: best.passed }, updated });
  }
  return runs.sort((a, b) => b.updated.getTime() - a.updated.getTime());
}
