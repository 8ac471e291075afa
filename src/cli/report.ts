import { join, resolve } from "node:path";
import type { Command } from "commander";
import type { CliContext } from "./context.js";

export function registerReport(program: Command, context: CliContext): void {
  program
    .command("report")
    .description(
      "write the run's report: report.html (self-contained) in the run directory, and the summary in the terminal",
    )
    .argument("<run>", "adapters/<run-name>")
    .option("--json", "print the report data as JSON")
    .action(async (run: string, flags: { json?: boolean }) => {
      const { loadRunReport } = await import("../runs/index.js");
      const { runReportHtml, runReportText } = await import("../eval/index.js");
      const { writeFileAtomic } = await import("../files/index.js");
      const report = loadRunReport(resolve(run));
      if (flags.json) {
        context.output.json(report);
        return;
      }
      const file = join(resolve(run), "report.html");
      writeFileAtomic(file, runReportHtml(report));
      context.output.out(runReportText(report));
      context.output.out(`\nreport: ${file}`);
    });
}
