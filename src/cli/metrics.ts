import type { Command } from "commander";
import type { CliContext } from "./context.js";

export function registerMetrics(program: Command, context: CliContext): void {
  program
    .command("metrics")
    .description(
      "classification report from any file of gold/predicted labels (.jsonl, .csv, .json or .parquet with columns gold and pred)",
    )
    .argument("<predictions>", "file of gold and predicted labels")
    .option(
      "--labels <a,b,c>",
      "label names in report order, each a row even when absent (others found in the file follow)",
    )
    .option(
      "--json",
      "print the report as JSON (scikit-learn's classification_report output_dict shape, plus confusion_matrix and labels)",
    )
    .action(async (file: string, flags: { labels?: string; json?: boolean }) => {
      const {
        classificationReport,
        classificationReportDict,
        classificationReportText,
        compareDistributions,
        confusionMatrixText,
        labelsFromFile,
      } = await import("../eval/index.js");
      const { gold, predicted } = await labelsFromFile(file);
      const known =
        flags.labels
          ?.split(",")
          .map((l) => l.trim())
          .filter((l) => l !== "") ?? [];
      const report = classificationReport(gold, predicted, known);
      const distribution = compareDistributions(gold, predicted, report.labels);
      if (flags.json) {
        context.output.json({
          report: classificationReportDict(report),
          confusion_matrix: report.confusion,
          labels: report.labels,
          examples: report.examples,
          distribution: {
            gold: distribution.gold,
            predicted: distribution.predicted,
            total_variation: distribution.totalVariation,
            js_distance: distribution.jsDistance,
          },
        });
        return;
      }
      context.output.out(classificationReportText(report));
      context.output.out("");
      context.output.out(confusionMatrixText(report));
      context.output.out("");
      context.output.out(
        `label distribution: total variation ${distribution.totalVariation.toFixed(4)}, Jensen-Shannon distance ${distribution.jsDistance.toFixed(4)}`,
      );
    });
}
