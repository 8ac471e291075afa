import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkpointSteps } from "../checkpoint/index.js";
import type { RunPlan } from "../recipe/index.js";

export interface RunSummary {
  name: string;
  dir: string;
  task: string | null;
  /** `planned`: plan only; `started`: has checkpoints; `unreadable`: plan.json is damaged. */
  status: "planned" | "started" | "unreadable";
  /** Steps of the checkpoint folders present, ascending. */
  checkpoints: number[];
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
    let status: RunSummary["status"] = checkpoints.length > 0 ? "started" : "planned";
    try {
      task = (JSON.parse(readFileSync(planFile, "utf8")) as RunPlan).task;
    } catch {
      status = "unreadable";
    }
    runs.push({ name: entry.name, dir, task, status, checkpoints, updated: stat.mtime });
  }
  return runs.sort((a, b) => b.updated.getTime() - a.updated.getTime());
}
