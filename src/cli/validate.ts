import type { Command } from "commander";
import type { RunEstimate } from "../run/estimate-run.js";
import type { CliContext } from "./context.js";
import { wholeNumber } from "./flag-values.js";
import { withRunOverrides, type RunOverrideFlags } from "./run-override-options.js";
import { progressBar } from "./progress.js";

interface ValidateFlags extends RunOverrideFlags {
  printPlan?: boolean;
  showExamples?: number;
  json?: boolean;
  out?: string;
}

export function registerValidate(program: Command, context: CliContext): void {
  withRunOverrides(
    program
      .command("validate")
      .description("check a recipe and its data (schema, files, every row, token lengths) without training")
      .argument("<recipe>", "recipe file (.yaml, .yml, .json, .ts, .mts, .js, .mjs)")
      .option("--print-plan", "print the resolved plan with every default made explicit")
      .option(
        "--show-examples <n>",
        "print N tokenized examples with the trained tokens marked ⟦like this⟧",
        wholeNumber(0),
      ),
  )
    .option("--out <root>", "output root the plan's run directory is placed under", "adapters")
    .option("--json", "print the result as JSON")
    .action(async (file: string, flags: ValidateFlags) => {
      const { checkRecipe } = await import("../run/check-recipe.js");
      const { formatDataStats, formatExamples } = await import("./data-report.js");
      const progress = progressBar(!flags.json && process.stderr.isTTY === true);
      const check = await checkRecipe(file, {
        overrides: { model: flags.model, engine: flags.engine, maxSteps: flags.maxSteps },
        out: flags.out,
        onProgress: progress.update,
        onDownload: progress.download,
      });
      progress.stop();
      const { plan, prepared } = check;
      // The torch engine's estimate; a tfjs recipe has none. Imported only for the others: it loads
      // the torch engine's module, which loads TensorFlow.js.
      const estimate =
        prepared && plan.engine !== "tfjs"
          ? await (await import("../run/estimate-run.js")).estimateRun(plan, prepared)
          : null;
      if (flags.json) {
        context.output.json({
          ok: true,
          recipe: check.loaded.file,
          plan,
          data: prepared,
          tokenizer_missing: check.tokenizerMissing,
          torch_estimate: estimate,
        });
        return;
      }
      const { recipe } = check.loaded;
      context.output.out(`ok: ${file} is a valid ${recipe.task} recipe "${plan.name}"`);
      context.output.out(
        `  model ${recipe.model.base} (${plan.model.source.kind}), engine ${recipe.engine}, data ${recipe.data.file ?? recipe.data.train ?? recipe.data.eval}`,
      );
      context.output.out(
        `  splits ${plan.data.splits.join(", ")}; best checkpoint by ${plan.eval.best_metric}; run directory ${plan.run_dir}`,
      );
      if (prepared) context.output.out(formatDataStats(prepared));
      else context.output.out(`  rows checked; token statistics skipped: ${check.tokenizerMissing}`);
      const count = flags.showExamples ?? 0;
      if (prepared && count > 0)
        context.output.out(
          formatExamples(prepared, (await import("../data/index.js")).loadTokenizer(prepared.tokenizerDir), count),
        );
      if (estimate) context.output.out(formatEstimate(estimate));
      if (flags.printPlan) context.output.out(JSON.stringify(plan, null, 2));
    });
}

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;

/** The torch engine's estimate: parameters, peak memory by part, time per epoch, go/no-go here. */
function formatEstimate({ estimate, gpus }: RunEstimate): string {
  const { parameters: p, bytes: b } = estimate;
  const lines = [
    "torch engine estimate (before any GPU time):",
    `  parameters ${(p.total / 1e9).toFixed(3)}B; trainable ${(p.lora + p.saved).toLocaleString("en-US")} (LoRA ${p.lora.toLocaleString("en-US")})`,
    `  peak GPU memory ~${gb(b.total)}: base weights ${gb(b.base)}, trainable weights and gradients ${gb(b.trainable)}, optimizer ${gb(b.optimizer)}, activations ${gb(b.activations)} (${gb(b.activationsWithoutCheckpointing)} without / ${gb(b.activationsWithCheckpointing)} with gradient checkpointing), logits ${gb(b.logits)}`,
    `  time per epoch: ${Object.entries(estimate.epochSeconds)
      .map(([gpu, seconds]) => `${gpu} ${formatSeconds(seconds)}`)
      .join(", ")}`,
    `  assumes ${estimate.assumptions.join("; ")}`,
  ];
  if (gpus.length === 0) lines.push("  this machine: no NVIDIA GPU found; the torch engine would train on the CPU");
  for (const gpu of gpus)
    lines.push(
      `  this machine: ${gpu.name}, ${(gpu.memoryMiB / 1024).toFixed(0)} GiB: ${gpu.fits ? "go" : "no-go (enable gradient checkpointing, quantize, or lower batch_size or max_length)"}`,
    );
  return lines.join("\n");
}

function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
