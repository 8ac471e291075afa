import { resolve } from "node:path";
import { loadPipeline } from "./load-pipeline.js";
import {
  checkOutputFile,
  readInputRows,
  writeOutput,
  type PredictOptions,
  type PredictSummary,
} from "../predict/index.js";
import { pipelineStages, predictThroughStages } from "./run-pipeline.js";

export interface PipelinePredictSummary extends PredictSummary {
  stages: Array<{ name: string; checkpoint: string; seen: number }>;
}

/**
 * `tune predict <pipeline.yaml>`: new texts through the trained stages (their runs under
 * `runs`), out with the chain's `label` and each stage's own label and probabilities or answer
 * (`<stage>.label`, `<stage>.probs` / `<stage>.answer`; empty for stages a row never reached).
 */
export async function predictPipelineFile(
  file: string,
  options: PredictOptions & { runs?: string },
): Promise<PipelinePredictSummary> {
  const pipeline = await loadPipeline(file);
  const stages = pipelineStages(pipeline, options.runs);
  const input = resolve(options.in);
  const out = resolve(options.out);
  checkOutputFile(out);
  const rows = await readInputRows(input);
  const { predictions, seen } = await predictThroughStages(stages, rows, input, options);
  const counts: Record<string, number> = {};
  const output = rows.map((row, i) => {
    const { label, stages: byStage } = predictions[i] ?? { label: null, stages: [] };
    if (label !== null) counts[label] = (counts[label] ?? 0) + 1;
    const perStage = stages.flatMap((stage, k) => {
      const prediction = byStage[k];
      return [
        [`${stage.name}.label`, prediction?.label ?? null],
        [
          prediction?.probs || !prediction ? `${stage.name}.probs` : `${stage.name}.answer`,
          prediction ? (prediction.probs ?? prediction.answer ?? null) : null,
        ],
      ];
    });
    return { ...row, label, ...Object.fromEntries(perStage) };
  });
  writeOutput(out, output);
  return {
    checkpoint: stages.map((s) => s.classifier.checkpoint).join(", "),
    out,
    rows: rows.length,
    skipped: output.filter((row) => row.label === null).length,
    counts,
    stages: stages.map((stage, k) => ({
      name: stage.name,
      checkpoint: stage.classifier.checkpoint,
      seen: seen[k] ?? 0,
    })),
  };
}
