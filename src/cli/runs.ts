import { existsSync } from "node:fs";
import type { Command } from "commander";
import { listRuns } from "../run/index.js";
import type { CliContext } from "./context.js";

export function registerRuns(program: Command, context: CliContext): void {
  program
    .command("runs")
    .description("list the runs under an output root with their status")
    .option("--out <root>", "output root to look in", "adapters")
    .option("--json", "print the runs as JSON")
    .action((flags: { out: string; json?: boolean }) => {
      const runs = existsSync(flags.out) ? listRuns(flags.out) : [];
      if (flags.json) {
        context.output.json(runs);
        return;
      }
      if (runs.length === 0) {
        context.output.out(`no runs under ${flags.out}`);
        return;
      }
      context.output.out(`${"name".padEnd(28)} ${"task".padEnd(26)} ${"status".padEnd(10)} checkpoints  updated`);
      for (const run of runs) {
        const checkpoints = run.checkpoints.length === 0 ? "-" : `${run.checkpoints.length} (last ${run.checkpoints.at(-1)})`;
        context.output.out(
          `${run.name.padEnd(28)} ${(run.task ?? "?").padEnd(26)} ${run.status.padEnd(10)} ${checkpoints.padEnd(12)} ${run.updated.toISOString()}`,
        );
      }
    });
}
