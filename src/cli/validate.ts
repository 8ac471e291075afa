import type { Command } from "commander";
import { loadTokenizer } from "../data/index.js";
import { checkRecipe } from "../run/index.js";
import type { CliContext } from "./context.js";
import { formatDataStats, formatExamples } from "./data-report.js";
import { progressBar } from "./progress.js";

interface ValidateFlags {
  printPlan?: boolean;
  showExamples?: string;
  json?: boolean;
  model?: string;
  engine?: string;
  out?: string;
}

export function registerValidate(program: Command, context: CliContext): void {
  program
    .command("validate")
    .description("check a recipe and its data (schema, files, every row, token lengths) without training")
    .argument("<recipe>", "recipe file (.yaml, .yml, .json, .ts, .mts, .js, .mjs)")
    .option("--print-plan", "print the resolved plan with every default made explicit")
    .option("--show-examples <n>", "print N tokenized examples with the trained tokens marked ⟦like this⟧")
    .option("--model <dir|id>", "validate with this base model instead of the recipe's")
    .option("--engine <engine>", "validate with this engine (auto, torch, tfjs)")
    .option("--out <root>", "output root the plan's run directory is placed under", "adapters")
    .option("--json", "print the result as JSON")
    .action(async (file: string, flags: ValidateFlags) => {
      const progress = progressBar(!flags.json && process.stderr.isTTY === true);
      const check = await checkRecipe(file, { overrides: { model: flags.model, engine: flags.engine }, out: flags.out, onProgress: progress.update });
      progress.stop();
      const { plan, prepared } = check;
      if (flags.json) {
        context.output.json({ ok: true, recipe: check.loaded.file, plan, data: prepared, tokenizer_missing: check.tokenizerMissing });
        return;
      }
      const { recipe } = check.loaded;
      context.output.out(`ok: ${file} is a valid ${recipe.task} recipe "${plan.name}"`);
      context.output.out(`  model ${recipe.model.base} (${plan.model.source.kind}), engine ${recipe.engine}, data ${recipe.data.file ?? recipe.data.train ?? recipe.data.eval}`);
      context.output.out(`  splits ${plan.data.splits.join(", ")}; best checkpoint by ${plan.eval.best_metric}; run directory ${plan.run_dir}`);
      if (prepared) context.output.out(formatDataStats(prepared));
      else context.output.out(`  rows checked; token statistics skipped: ${check.tokenizerMissing}`);
      const count = Number(flags.showExamples ?? 0);
      if (prepared && count > 0) context.output.out(formatExamples(prepared, loadTokenizer(prepared.tokenizerDir), count));
      if (flags.printPlan) context.output.out(JSON.stringify(plan, null, 2));
    });
}
