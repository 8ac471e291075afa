import type { Command } from "commander";
import type { TrainEvent } from "../engine/tfjs/index.js";
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
    .description("run a recipe end to end: prepare data, train, evaluate, keep the best, publish")
    .argument("<recipe>", "recipe file (.yaml, .yml, .json, .ts, .mts, .js, .mjs)")
    .option("--model <dir|id>", "use this base model instead of the recipe's (e.g. builtin:tiny-llama)")
    .option("--engine <engine>", "engine to train with: auto, torch or tfjs")
    .option("--out <root>", "output root; the run goes to <root>/<name>", "adapters")
    .option("--restart", "move an existing run aside (never deleted) and start over")
    .option("--resume <checkpoint>", "resume from this checkpoint folder instead of the latest")
    .option("--json", "stream events as JSON lines instead of progress output")
    .action(async (file: string, flags: RecipeFlags) => {
      const progress = progressBar(!flags.json && process.stderr.isTTY === true);
      const print = (event: TrainEvent) => (flags.json ? context.output.out(JSON.stringify(event)) : context.output.out(formatEvent(event)));
      let stopRequested = false;
      const onSignal = () => {
        if (stopRequested) process.exit(ExitCode.interrupted);
        stopRequested = true;
        context.output.err("stopping after this step and saving a checkpoint (press Ctrl-C again to stop at once)");
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      const result = await runRecipe(file, {
        ...flags,
        shouldStop: () => stopRequested,
        onProgress: progress.update,
        onEvent: print,
        onPrepared: (prepared, engine, plan) => {
          progress.stop();
          if (flags.json) return;
          context.output.out(`engine: ${engine.name} (${engine.why}); run directory ${plan.run_dir}`);
          context.output.out(formatDataStats(prepared));
        },
      });
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      if (result.stopped) context.exitCode = ExitCode.interrupted;
      if (flags.json) return;
      for (const skipped of result.skipped) context.output.err(`warning: skipped ${skipped.dir}: ${skipped.why}`);
      if (result.movedAside) context.output.out(`previous run moved to ${result.movedAside}`);
      context.output.out(`adapter: ${result.checkpoint}`);
    });
}

function formatEvent(event: TrainEvent): string {
  switch (event.type) {
    case "start":
      return `training on tfjs (${event.backend} backend): ${event.total_steps} steps, ${event.trainable_parameters} trainable parameters`;
    case "step":
      return `step ${event.step}  epoch ${event.epoch.toFixed(2)}  loss ${event.loss.toFixed(4)}  lr ${event.lr.toExponential(2)}  grad ${event.grad_norm.toFixed(3)}  ${event.tokens_per_s} tok/s`;
    case "checkpoint":
      return `checkpoint ${event.dir}`;
    case "eval":
      return `${event.split}: accuracy ${event.accuracy.toFixed(3)} on ${event.examples} examples`;
    case "resume":
      return `resuming from ${event.checkpoint} (step ${event.step})`;
    case "stopped":
      return `stopped at step ${event.step}; saved ${event.checkpoint}; run the same command again to resume`;
    case "end":
      return `done after ${event.step} steps`;
  }
}
