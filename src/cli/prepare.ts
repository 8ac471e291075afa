import type { Command } from "commander";
import { ExitCode, TuneError } from "../errors/index.js";
import type { CliContext } from "./context.js";
import { progressBar } from "./progress.js";

interface PrepareFlags {
  out: string;
  model?: string;
  json?: boolean;
}

export function registerPrepare(program: Command, context: CliContext): void {
  program
    .command("prepare")
    .description("tokenize and cache every split without training; print where the datasets are")
    .argument("<recipe>", "recipe file")
    .option("--out <root>", "output root of the run the data is for", "adapters")
    .option("--model <dir|id>", "prepare for this base model's tokenizer instead of the recipe's")
    .option("--json", "print dataset paths and statistics as JSON")
    .action(async (file: string, flags: PrepareFlags) => {
      const { checkRecipe } = await import("../validate/index.js");
      const { formatDataStats } = await import("./data-report.js");
      const progress = progressBar(!flags.json && process.stderr.isTTY === true);
      const check = await checkRecipe(file, {
        overrides: { model: flags.model },
        out: flags.out,
        onProgress: progress.update,
        onDownload: progress.download,
      });
      progress.stop();
      const { prepared } = check;
      if (!prepared) {
        throw TuneError.single(
          {
            code: "tokenizer-missing",
            message: `cannot tokenize: ${check.tokenizerMissing}`,
            hint: "The rows were checked and are fine; the model's tokenizer is needed to prepare them.",
          },
          ExitCode.environment,
        );
      }
      if (flags.json) {
        context.output.json({
          key: prepared.key,
          datasets: prepared.datasets,
          dir: prepared.dir,
          cached: prepared.cached,
          splits: Object.fromEntries(
            Object.entries(prepared.splits).map(([name, split]) => [
              name,
              { dir: split.dir, manifest: `${split.dir}/manifest.json`, ...split.manifest.stats },
            ]),
          ),
        });
        return;
      }
      context.output.out(formatDataStats(prepared));
      for (const [name, split] of Object.entries(prepared.splits)) context.output.out(`${name}: ${split.dir}`);
    });
}
