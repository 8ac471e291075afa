import { relative } from "node:path";
import type { Command } from "commander";
import { loadTokenizer } from "../data/index.js";
import { checkPipeline, isPipelineFile, type PipelineCheck } from "../pipeline/index.js";
import { checkRecipe, estimateRun, type RecipeCheck, type RunEstimate } from "../validate/index.js";
import type { CliContext } from "./context.js";
import { wholeNumber } from "./flag-values.js";
import { withRunOverrides, type RunOverrideFlags } from "./run-override-options.js";
import { formatDataStats, formatExamples } from "./data-report.js";
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
      .description(
        "check a recipe and its data (schema, files, every row, token lengths), or a pipeline and each stage's, without training",
      )
      .argument(
        "<recipe>",
        "recipe file (.yaml, .yml, .json, .ts, .mts, .js, .mjs), or a pipeline file (YAML with `stages`)",
      )
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
      const progress = progressBar(!flags.json && process.stderr.isTTY === true);
      const options = {
        overrides: { model: flags.model, engine: flags.engine, maxSteps: flags.maxSteps },
        out: flags.out,
        onProgress: progress.update,
        onDownload: progress.download,
      };
      if (isPipelineFile(file)) {
        const check = await checkPipeline(file, options);
        progress.stop();
        await reportPipeline(file, check, flags, context);
        return;
      }
      const check = await checkRecipe(file, options);
      progress.stop();
      const estimate =
        check.prepared && check.modelDir ? await estimateRun(check.plan, check.modelDir, check.prepared) : null;
      if (flags.json) {
        context.output.json({ ok: true, ...recipeJson(check, estimate) });
        return;
      }
      const { recipe } = check.loaded;
      context.output.out(`ok: ${file} is a valid ${recipe.task} recipe "${check.plan.name}"`);
      reportRecipe(check, estimate, flags, context);
    });
}

function recipeJson(check: RecipeCheck, estimate: RunEstimate | null) {
  return {
    recipe: check.loaded.file,
    plan: check.plan,
    data: check.prepared,
    tokenizer_missing: check.tokenizerMissing,
    torch_estimate: estimate,
  };
}

/** What `tune validate` found in a recipe, below the line that names it. */
function reportRecipe(check: RecipeCheck, estimate: RunEstimate | null, flags: ValidateFlags, context: CliContext) {
  const { plan, prepared } = check;
  const { recipe } = check.loaded;
  context.output.out(
    `  model ${recipe.model.base} (${plan.model.source.kind}), engine ${recipe.engine}, data ${dataSummary(check)}`,
  );
  context.output.out(
    `  splits ${plan.data.splits.join(", ")}; best checkpoint by ${plan.eval.best_metric}; run directory ${plan.run_dir}`,
  );
  if (prepared) context.output.out(formatDataStats(prepared));
  else context.output.out(`  rows checked; token statistics skipped: ${check.tokenizerMissing}`);
  const count = flags.showExamples ?? 0;
  if (prepared && check.modelDir && count > 0)
    context.output.out(formatExamples(prepared, loadTokenizer(check.modelDir), count));
  if (estimate) context.output.out(formatEstimate(estimate));
  if (flags.printPlan) context.output.out(JSON.stringify(plan, null, 2));
}

/** Where the data comes from: the first local file, or each Hub dataset at the commit it resolved to. */
function dataSummary(check: RecipeCheck): string {
  const { data } = check.loaded.recipe;
  const local = [data.file, data.train, data.eval].find((source) => typeof source === "string");
  const hub = check.prepared?.datasets.map((d) => `${d.repo}@${d.commit.slice(0, 12)} (${d.role})`) ?? [];
  return [local, ...hub].filter(Boolean).join(", ") || "from the Hub";
}

/** A pipeline: its name and stages, each stage as a recipe, then the end-to-end test file. */
async function reportPipeline(file: string, check: PipelineCheck, flags: ValidateFlags, context: CliContext) {
  const { pipeline, stages } = check;
  const estimates: Array<RunEstimate | null> = [];
  for (const stage of stages)
    estimates.push(
      stage.prepared && stage.modelDir ? await estimateRun(stage.plan, stage.modelDir, stage.prepared) : null,
    );
  if (flags.json) {
    context.output.json({
      ok: true,
      pipeline: pipeline.file,
      name: pipeline.name,
      stages: stages.map((stage, i) => ({
        ...recipeJson(stage, estimates[i] ?? null),
        pass: pipeline.stages[i]?.pass,
      })),
      test: pipeline.test ? { file: pipeline.test.file, rows: check.testRows } : null,
    });
    return;
  }
  context.output.out(`ok: ${file} is a valid pipeline "${pipeline.name}" of ${stages.length} stages`);
  for (const [i, stage] of stages.entries()) {
    const pass = pipeline.stages[i]?.pass ?? [];
    context.output.out(
      `stage ${i + 1}: ${relative(process.cwd(), stage.loaded.file)} is a valid ${stage.loaded.recipe.task} recipe "${stage.plan.name}"${pass.length > 0 ? `; rows it labels ${pass.join(" or ")} go on to stage ${i + 2}` : ""}`,
    );
    reportRecipe(stage, estimates[i] ?? null, flags, context);
  }
  if (pipeline.test)
    context.output.out(
      `end-to-end test: ${relative(process.cwd(), pipeline.test.file)}, ${check.testRows} rows, every final label one the stages give`,
    );
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
  const spread = estimate.perGpu.map(
    ({ processes, ddp, fsdp }) =>
      `${processes} processes: ddp ~${gb(ddp)}, fsdp ${fsdp === null ? "refused over a quantized base" : `~${gb(fsdp)}`}`,
  );
  lines.push(`  per GPU, one process each, over ${spread.join("; ")}`);
  if (gpus.length === 0) lines.push("  this machine: no NVIDIA GPU found; the torch engine would train on the CPU");
  const remedies = `${b.activations === b.activationsWithCheckpointing ? "" : "enable gradient checkpointing, "}quantize, lower batch_size or max_length`;
  for (const gpu of gpus) {
    const ways = gpu.fitsWith.map(({ strategy, processes }) => `${strategy} over ${processes}`).join(", ");
    lines.push(
      `  this machine: ${gpu.name}, ${(gpu.memoryMiB / 1024).toFixed(0)} GiB: ${gpu.fits ? "go" : `no-go (${remedies}${ways ? `, or train one process per GPU with ${ways}` : ""})`}`,
    );
  }
  return lines.join("\n");
}

function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
