import { existsSync } from "node:fs";
import type { Command } from "commander";
import type { RunSummary } from "../runs/index.js";
import type { CliContext } from "./context.js";

export function registerRuns(program: Command, context: CliContext): void {
  program
    .command("runs")
    .description("list the runs under an output root with their status")
    .option("--out <root>", "output root to look in", "adapters")
    .option("--json", "print the runs as JSON")
    .action(async (flags: { out: string; json?: boolean }) => {
      const { listRuns } = await import("../runs/index.js");
      const runs = existsSync(flags.out) ? listRuns(flags.out) : [];
      if (flags.json) {
        context.output.json(runs);
        return;
      }
      if (runs.length === 0) {
        context.output.out(`no runs under ${flags.out}`);
        return;
      }
      context.output.out(
        `${"name".padEnd(24)} ${"task".padEnd(26)} ${"state".padEnd(18)} ${"best".padEnd(34)} checkpoints`,
      );
      for (const run of runs) {
        const checkpoints =
          run.checkpoints.length === 0 ? "-" : `${run.checkpoints.length} (last ${run.checkpoints.at(-1)})`;
        context.output.out(
          `${run.name.padEnd(24)} ${(run.task ?? "?").padEnd(26)} ${stateText(run.state).padEnd(18)} ${bestText(run.best).padEnd(34)} ${checkpoints}`,
        );
      }
      for (const run of runs)
        if (run.state.kind === "unreadable") context.output.err(`warning: ${run.name}: ${run.state.why}`);
    });
}

function stateText(state: RunSummary["state"]): string {
  switch (state.kind) {
    case "finished":
      return `finished (${state.step})`;
    case "stopped":
      return `stopped at ${state.step}`;
    case "running":
      return `running (${state.step})`;
    case "failed":
      return `failed at ${state.step}`;
    default:
      return state.kind;
  }
}

function bestText(best: RunSummary["best"]): string {
  if (!best || best.step === null) return "-";
  const value = best.value === null ? "newest" : `${best.split}.${best.metric} ${best.value.toFixed(4)}`;
  return `${value} @${best.step}${best.passed ? "" : " (gate failed)"}`;
}
