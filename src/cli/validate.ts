import type { Command } from "commander";
import { loadRecipe, resolvePlan } from "../recipe/index.js";
import type { CliContext } from "./context.js";

interface ValidateFlags {
  printPlan?: boolean;
  json?: boolean;
  model?: string;
  engine?: string;
  out?: string;
}

export function registerValidate(program: Command, context: CliContext): void {
  program
    .command("validate")
    .description("check a recipe (schema, files it points at, consistency) without running it")
    .argument("<recipe>", "recipe file (.yaml, .yml, .json, .ts, .mts, .js, .mjs)")
    .option("--print-plan", "print the resolved plan with every default made explicit")
    .option("--model <dir|id>", "validate with this base model instead of the recipe's")
    .option("--engine <engine>", "validate with this engine (auto, torch, tfjs)")
    .option("--out <root>", "output root the plan's run directory is placed under", "adapters")
    .option("--json", "print the result as JSON")
    .action(async (file: string, flags: ValidateFlags) => {
      const loaded = await loadRecipe(file, { model: flags.model, engine: flags.engine });
      const plan = resolvePlan(loaded, { out: flags.out });
      if (flags.json) {
        context.output.json({ ok: true, recipe: loaded.file, plan });
        return;
      }
      const { recipe } = loaded;
      const data = recipe.data.file ?? recipe.data.train;
      context.output.out(`ok: ${file} is a valid ${recipe.task} recipe "${plan.name}"`);
      context.output.out(`  model ${recipe.model.base} (${plan.model.source.kind}), engine ${recipe.engine}, data ${data}`);
      context.output.out(`  splits ${plan.data.splits.join(", ")}; best checkpoint by ${plan.eval.best_metric}; run directory ${plan.run_dir}`);
      if (flags.printPlan) context.output.out(JSON.stringify(plan, null, 2));
    });
}
