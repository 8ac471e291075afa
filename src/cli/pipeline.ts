import type { Command } from "commander";
import { ExitCode } from "../errors/index.js";
import type { CliContext } from "./context.js";
import { withRunOverrides, type RunOverrideFlags } from "./run-override-options.js";

interface PipelineFlags extends RunOverrideFlags {
  out: string;
  json?: boolean;
}

export function registerPipeline(program: Command, context: CliContext): void {
  withRunOverrides(
    program
      .command("pipeline")
      .description("train the stages of a layered classifier in order and judge the chain end to end")
      .argument(
        "<file>",
        "a pipeline file: stages (recipes, and the labels that pass a row on) and an end-to-end test file",
      ),
  )
    .option("--out <root>", "output root of the stages' runs and the end-to-end report", "adapters")
    .option("--json", "print the result as JSON")
    .action(async (file: string, flags: PipelineFlags) => {
      const { runPipeline } = await import("../pipeline/index.js");
      const { classificationReportText, confusionMatrixText } = await import("../eval/index.js");
      const result = await runPipeline(file, {
        model: flags.model,
        engine: flags.engine,
        maxSteps: flags.maxSteps,
        out: flags.out,
      });
      if (!result.passed) context.exitCode = ExitCode.gateFailed;
      if (result.stages.some((s) => s.stopped)) context.exitCode = ExitCode.interrupted;
      if (flags.json) {
        context.output.json({
          ok: result.passed,
          stages: result.stages.map((s) => ({
            run: s.plan.run_dir,
            best: s.selection?.best?.dir ?? null,
            passed: s.selection?.passed ?? null,
          })),
          end_to_end: result.endToEnd,
        });
        return;
      }
      for (const [index, stage] of result.stages.entries()) {
        const best = stage.selection;
        const value =
          best?.value === null || best?.value === undefined
            ? ""
            : ` (${best.metric} ${best.value.toFixed(4)} on ${best.split})`;
        context.output.out(
          `stage ${index + 1}: ${stage.plan.name}: best ${best?.best?.dir ?? stage.checkpoint}${value}${best && !best.passed ? " — gates FAILED" : ""}`,
        );
      }
      const e2e = result.endToEnd;
      if (!e2e) return;
      context.output.out(
        `\nend to end on ${e2e.file} (${e2e.examples} rows; rows seen per stage: ${e2e.seen.join(" → ")}; a row an earlier stage stopped counts as that stage's label):`,
      );
      context.output.out(`${classificationReportText(e2e.report)}\n\n${confusionMatrixText(e2e.report)}`);
      context.output.out(`predictions: ${e2e.predictions}`);
    });
}
