import type { Command } from "commander";
import { ADAPTER_ARGUMENT, BASE_FLAG, RECIPE_FLAG, REVISION_FLAG } from "./adapter-flags.js";
import type { CliContext } from "./context.js";

interface EvalFlags {
  split?: string;
  data?: string;
  recipe?: string;
  base?: string;
  revision?: string;
  out?: string;
  json?: boolean;
}

export function registerEval(program: Command, context: CliContext): void {
  program
    .command("eval")
    .description(
      "evaluate a checkpoint, or a PEFT adapter with a recipe, on the recipe's splits, one split, or a data file",
    )
    .argument("<checkpoint|adapter>", ADAPTER_ARGUMENT)
    .option("--split <split>", "train, eval or test (default: the recipe's eval splits)")
    .option("--data <file>", "evaluate on this file (the recipe's columns) instead")
    .option("--recipe <file>", RECIPE_FLAG)
    .option("--base <dir|id>", BASE_FLAG)
    .option("--revision <rev>", REVISION_FLAG)
    .option(
      "--out <dir>",
      "for a PEFT adapter: where predictions and metrics.json go (default adapters/<adapter>-eval)",
    )
    .option("--json", "print the evaluations as JSON")
    .action(async (checkpoint: string, flags: EvalFlags) => {
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
      if (result.out !== result.checkpoint) context.output.out(`results of ${result.checkpoint} in ${result.out}`);
    });
}
