import type { Command } from "commander";
import type { CliContext } from "./context.js";

export function registerCompare(program: Command, context: CliContext): void {
  program
    .command("compare")
    .description("one table of runs side by side: zero-shot, few-shot and fine-tuned on the same split")
    .argument("<runs...>", "run folders (adapters/<run>)")
    .option("--split <split>", "the split to compare on (default: test when every run has one, else eval)")
    .option("--json", "print the comparison as JSON")
    .action(async (runs: string[], flags: { split?: string; json?: boolean }) => {
      const { compareRuns } = await import("../compare/index.js");
      const comparison = await compareRuns(runs, flags.split);
      if (flags.json) {
        context.output.json(comparison);
        return;
      }
      const header = ["run", "approach", "model", ...comparison.metrics];
      const rows = comparison.runs.map((run) => [
        run.name,
        run.approach,
        run.model,
        ...comparison.metrics.map((m) => run.metrics[m]?.toFixed(4) ?? "-"),
      ]);
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
      context.output.out(`${comparison.split} split, best checkpoint of each run:`);
      context.output.out(
        [header, ...rows]
          .map((row) =>
            row
              .map((cell, i) => (i < 3 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
              .join("  "),
          )
          .join("\n"),
      );
      if (comparison.warning) context.output.err(`warning: ${comparison.warning}`);
    });
}
