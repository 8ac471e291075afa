import type { Command } from "commander";
import { ExitCode } from "../errors/index.js";
import { runRecipe } from "../run/index.js";
import type { CliContext } from "./context.js";
import { formatDataStats } from "./data-report.js";
import { progressBar } from "./progress.js";

interface RecipeFlags {
  model?: string;
  engine?: string;
  out: string;
  restart?: boolean;
  resume?: string;
  json?: boolean;
}

export function registerRecipe(program: Command, context: CliContext): void {
  program
    .command("recipe")
    .description("run a recipe end to end: prepare data, train, evaluate, keep the best, publish; re-run to resume")
    .argument("<recipe>", "recipe file (.yaml, .yml, .json, .ts, .mts, .js, .mjs)")
    .option("--model <dir|id>", "use this base model instead of the recipe's (e.g. builtin:tiny-llama)")
    .option("--engine <engine>", "engine to train with: auto, torch or tfjs")
    .option("--out <root>", "output root; the run goes to <root>/<name>", "adapters")
    .option("--restart", "move an existing run aside (never deleted) and start over")
    .option("--resume <checkpoint>", "resume from this checkpoint folder instead of the latest")
    .option("--json", "stream events as JSON lines instead of progress output")
    .action(async (file: string, flags: RecipeFlags) => {
      const progress = progressBar(!flags.json && process.stderr.isTTY === true);
      const result = await runRecipe(file, { ...flags, onProgress: progress.update });
      progress.stop();
      const { plan } = result;
      if (flags.json) {
        context.output.out(JSON.stringify({ type: "planned", run_dir: plan.run_dir, plan: `${plan.run_dir}/plan.json`, reason: result.reason }));
      } else {
        context.output.out(`tune ${plan.tune_version}: run "${plan.name}" (${plan.task}, model ${plan.model.base}) in ${plan.run_dir}`);
        if (result.movedAside) context.output.out(`previous run moved to ${result.movedAside}`);
        context.output.out(formatDataStats(result.prepared));
        context.output.out(`plan written: ${plan.run_dir}/plan.json`);
        context.output.err(`error: nothing was trained: ${result.reason}.\n    \`tune doctor\` shows what this machine has.`);
      }
      context.exitCode = ExitCode.environment;
    });
}
