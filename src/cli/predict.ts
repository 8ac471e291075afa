import type { Command } from "commander";
import { ADAPTER_ARGUMENT, BASE_FLAG, RECIPE_FLAG, REVISION_FLAG } from "./adapter-flags.js";
import type { CliContext } from "./context.js";

interface PredictFlags {
  in: string;
  out: string;
  runs: string;
  recipe?: string;
  base?: string;
  revision?: string;
  json?: boolean;
}
import { progressBar } from "./progress.js";

export function registerPredict(program: Command, context: CliContext): void {
  program
    .command("predict")
    .description("label new texts with a trained classifier")
    .argument("<checkpoint|run|pipeline>", `${ADAPTER_ARGUMENT}, or a pipeline file (its stages' runs under --runs)`)
    .requiredOption("--in <file>", "CSV, JSONL, JSON or Parquet with the recipe's text column")
    .requiredOption(
      "--out <file>",
      "where the rows go with their label and probabilities (.csv, .tsv, .jsonl or .json)",
    )
    .option("--runs <root>", "with a pipeline file: where its stages' runs are", "adapters")
    .option("--recipe <file>", RECIPE_FLAG)
    .option("--base <dir|id>", BASE_FLAG)
    .option("--revision <rev>", REVISION_FLAG)
    .option("--json", "print a summary as JSON")
    .action(async (target: string, flags: PredictFlags) => {
      const { isPipelineFile, predictPipelineFile } = await import("../pipeline/index.js");
      const { predictFile } = await import("../predict/index.js");
      const progress = progressBar(!flags.json && process.stderr.isTTY === true);
      const options = { in: flags.in, out: flags.out, onProgress: progress.update, onDownload: progress.download };
      const summary = isPipelineFile(target)
        ? await predictPipelineFile(target, { ...options, runs: flags.runs })
        : await predictFile(target, { ...options, recipe: flags.recipe, base: flags.base, revision: flags.revision });
      progress.stop();
      if (flags.json) {
        context.output.json({ ok: true, ...summary });
        return;
      }
      const counts = Object.entries(summary.counts)
        .map(([label, n]) => `${label} ${n}`)
        .join(", ");
      context.output.out(
        `labelled ${summary.rows - summary.skipped} of ${summary.rows} rows with ${summary.checkpoint}: ${counts || "none"}`,
      );
      context.output.out(`wrote ${summary.out}`);
    });
}
