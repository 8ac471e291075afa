import type { Command } from "commander";
import { ExitCode } from "../errors/index.js";
import type { Metric } from "../recipe/index.js";
import type { EvalEvent, RunEvent } from "../run/index.js";
import type { CliContext } from "./context.js";
import { progressBar, trainingBar } from "./progress.js";
import { withRunOverrides, type RunOverrideFlags } from "./run-override-options.js";

interface RecipeFlags extends RunOverrideFlags {
  out: string;
  restart?: boolean;
  resume?: string;
  nodeRank?: string;
  json?: boolean;
}

export function registerRecipe(program: Command, context: CliContext): void {
  withRunOverrides(
    program
      .command("recipe")
      .description("run a recipe end to end: prepare data, train, evaluate, keep the best, publish")
      .argument("<recipe>", "recipe file (.yaml, .yml, .json, .ts, .mts, .js, .mjs)"),
  )
    .option("--out <root>", "output root; the run goes to <root>/<name>", "adapters")
    .option("--restart", "move an existing run aside (never deleted) and start over")
    .option("--resume <checkpoint>", "resume from this checkpoint folder instead of the latest")
    .option(
      "--node-rank <rank>",
      "this machine's node in a multi-node recipe (distributed.nodes), 0 to nodes-1; default SLURM_NODEID or PET_NODE_RANK",
    )
    .option("--json", "stream events as JSON lines instead of progress output")
    .action(async (file: string, flags: RecipeFlags) => {
      const { runRecipe } = await import("../run/index.js");
      const { loadRunReport } = await import("../runs/index.js");
      const { runReportText } = await import("../eval/index.js");
      const { formatDataStats } = await import("./data-report.js");
      const progress = progressBar(!flags.json && process.stderr.isTTY === true);
      let shown: readonly Metric[] = [];
      const live = !flags.json && process.stderr.isTTY === true;
      const bar = trainingBar(live);
      const print = (event: RunEvent) => {
        // On a terminal the bar shows every step; logged step lines are for logs and pipes.
        if (live && event.type === "step") return;
        if (event.type === "warning" && !flags.json) {
          bar.above(() => context.output.err(`warning: ${event.message}`));
          return;
        }
        const line = flags.json ? JSON.stringify(event) : formatEvent(event, shown);
        if (line) bar.above(() => context.output.out(line));
      };
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
        onDownload: progress.download,
        onEvent: print,
        onStep: bar.tick,
        onStart: ({ plan, prepared, engine, resumeFrom, skipped, movedAside, tookOverLock, node }) => {
          progress.stop();
          shown = plan.eval.metrics;
          if (tookOverLock) context.output.err(`warning: took over ${tookOverLock}`);
          if (node && node.rank > 0)
            context.output.err(
              `node ${node.rank} of ${node.nodes} (rank from ${node.rankFrom}): node 0 at ${node.endpoint} writes the run directory, ${plan.run_dir} on its machine; this node writes nothing there`,
            );
          if (flags.json) return;
          const step = resumeFrom ? /checkpoint-(\d+)$/.exec(resumeFrom)?.[1] : null;
          context.output.out(
            resumeFrom
              ? `resuming ${plan.name} from ${resumeFrom} (step ${step})`
              : `starting ${plan.name} in ${plan.run_dir}`,
          );
          for (const bad of skipped) context.output.err(`warning: skipped ${bad.dir}: ${bad.why}`);
          if (movedAside) context.output.out(`previous run moved to ${movedAside}`);
          context.output.out(`engine: ${engine.name} (${engine.why})`);
          context.output.out(formatDataStats(prepared));
        },
      });
      bar.stop();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      if (result.stopped) context.exitCode = ExitCode.interrupted;
      else if (result.selection && !result.selection.passed) context.exitCode = ExitCode.gateFailed;
      if (flags.json) return;
      if (result.selection) context.output.out(runReportText(loadRunReport(result.plan.run_dir)));
      // A node other than 0 wrote no checkpoint: node 0's output names the adapter.
      if (result.selection || result.checkpoint)
        context.output.out(`adapter: ${result.selection?.best?.dir ?? result.checkpoint}`);
    });
}

/** The recipe's metrics (loss too when known), four decimals. */
function formatMetrics(metrics: EvalEvent["metrics"], shown: readonly Metric[]): string {
  return [...new Set([...shown, "loss" as const])]
    .filter((name) => metrics[name] !== undefined)
    .map((name) => `${name} ${(metrics[name] as number).toFixed(4)}`)
    .join("  ");
}

/** e.g. "padding-free, lean loss, tune_packed_sdpa attention": what a user can turn off in the recipe. */
function speedFeatures(speed: NonNullable<Extract<RunEvent, { type: "start" }>["speed"]>): string {
  return [
    speed.padding_free ? "padding-free" : "padded batches",
    speed.lean_loss ? "lean loss" : "",
    speed.compile ? "torch.compile" : "",
    `${speed.attention} attention`,
  ]
    .filter(Boolean)
    .join(", ");
}

function formatEvent(event: RunEvent, shown: readonly Metric[]): string {
  switch (event.type) {
    case "start":
      return `training on ${event.engine} (${event.backend} backend): ${event.total_steps} steps, ${event.trainable_parameters} trainable parameters${event.speed ? `; ${speedFeatures(event.speed)}` : ""}`;
    case "step":
      return `step ${event.step}  epoch ${event.epoch.toFixed(2)}  loss ${event.loss.toFixed(4)}  lr ${event.lr.toExponential(2)}  grad ${event.grad_norm.toFixed(3)}  ${event.tokens_per_s} tok/s`;
    case "checkpoint":
      return `checkpoint ${event.dir}`;
    case "predictions":
      // The eval line that follows says what they scored; the file is in the checkpoint.
      return "";
    case "eval":
      return `${event.split} at step ${event.step}: ${formatMetrics(event.metrics, shown)} (${event.examples} examples${event.unparsed > 0 ? `, ${event.unparsed} answers matched no label` : ""})`;
    case "warning":
      return event.message;
    case "resume":
      return `resuming from ${event.checkpoint} (step ${event.step})`;
    case "stopped":
      return `stopped at step ${event.step}; saved ${event.checkpoint}; run the same command again to resume`;
    case "end":
      return `done after ${event.step} steps`;
    case "merged":
      return event.reused ? `merged model already in ${event.dir}` : `merged ${event.checkpoint} into ${event.dir}`;
    case "pushed":
      return event.commit === null
        ? `${event.repo} already has ${event.checkpoint}: nothing to commit`
        : `pushed ${event.checkpoint} to ${event.url} (commit ${event.commit.slice(0, 12)})`;
    case "best":
      return event.passed
        ? ""
        : `gates failed: ${event.gates
            .filter((g) => !g.passed)
            .map((g) => g.text)
            .join(", ")}`;
  }
}
