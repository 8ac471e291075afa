import type { Command } from "commander";
import type { CliContext } from "./context.js";

export function registerEval(program: Command, context: CliContext): void {
  program
    .command("eval")
    .description("evaluate a checkpoint on the run's splits, one split, or a data file")
    .argument("<checkpoint>", "adapters/<run>/checkpoint-<step>")
    .option("--split <split>", "train, eval or test (default: the recipe's eval splits)")
    .option("--data <file>", "evaluate on this file (the recipe's columns) instead")
    .option("--json", "print the evaluations as JSON")
    .action(async (checkpoint: string, flags: { split?: string; data?: string; json?: boolean }) => {
      const { evaluateCheckpoint } = await import("../evaluate/index.js");
      const { classificationReportText, confusionMatrixText } = await import("../eval/index.js");
      const result = await evaluateCheckpoint(checkpoint, flags);
      if (flags.json) {
        context.output.json(result.evaluations);
        return;
      }
      for (const evaluation of result.evaluations) {
        const name = flags.data ?? evaluation.split;
        const metrics = Object.entries(evaluation.metrics)
          .map(([metric, value]) => `${metric} ${value.toFixed(4)}`)
          .join("  ");
        context.output.out(`${name}: ${evaluation.examples} examples  ${metrics}`);
        if (evaluation.report)
          context.output.out(
            `${classificationReportText(evaluation.report)}\n\n${confusionMatrixText(evaluation.report)}`,
          );
        context.output.out(`predictions: ${evaluation.predictions}\n`);
      }
    });
}
