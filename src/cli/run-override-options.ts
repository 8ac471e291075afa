import type { Command } from "commander";
import { wholeNumber } from "./flag-values.js";

/** What `--model`, `--engine` and `--max-steps` replace in a recipe (every verb that resolves one takes them). */
export interface RunOverrideFlags {
  model?: string;
  engine?: string;
  maxSteps?: number;
}

/** Adds the recipe overrides shared by recipe, validate and pipeline. */
export function withRunOverrides(command: Command): Command {
  return command
    .option("--model <dir|id>", "use this base model instead of the recipe's (e.g. builtin:tiny-llama)")
    .option("--engine <engine>", "engine: auto, torch or tfjs")
    .option(
      "--max-steps <n>",
      "train this many optimizer steps instead of the recipe's length (a quick check of a recipe)",
      wholeNumber(1),
    );
}
