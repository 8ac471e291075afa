export { checkRecipe, type RecipeCheck } from "./check-recipe.js";
export { completePlan } from "./complete-plan.js";
export { checkPipeline, type PipelineCheck } from "./check-pipeline.js";
export { listRuns, type RunSummary } from "./list-runs.js";
export {
  runRecipe,
  type BestEvent,
  type EvalEvent,
  type RunEvent,
  type RunOptions,
  type RunResult,
  type RunStart,
} from "./run-recipe.js";
export { loadRunReport, runState } from "./load-run-report.js";
export { evaluateCheckpoint, type CheckpointEvaluation, type EvaluateOptions } from "./evaluate-checkpoint.js";
export { estimateRun, type RunEstimate } from "./estimate-run.js";
export { locateCheckpoint, type LocatedCheckpoint } from "./locate-checkpoint.js";
export {
  mergeCheckpoint,
  pushCheckpoint,
  type MergeCheckpointOptions,
  type PushCheckpointOptions,
} from "./publish-checkpoint.js";
export { predictFile, type PredictOptions, type PredictSummary } from "./predict-file.js";
export { openChat, type ChatOptions, type ChatSession } from "./chat-checkpoint.js";
export { isPipelineFile, loadPipeline, type Pipeline, type PipelineStage } from "./load-pipeline.js";
export { runPipeline, type EndToEnd, type PipelineResult } from "./run-pipeline.js";
export { predictPipelineFile, type PipelinePredictSummary } from "./predict-pipeline.js";
export { compareRuns, type ComparedRun, type RunComparison } from "./compare-runs.js";
