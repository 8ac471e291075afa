export { classificationReport, type ClassificationReport, type ClassScores } from "./classification-report.js";
export { compareDistributions, type DistributionComparison } from "./distribution.js";
export {
  evaluatePredictions,
  readPredictions,
  type PredictionRow,
  type SplitEvaluation,
} from "./evaluate-predictions.js";
export { parseAnswer, type ParseRules } from "./parse-answer.js";
export { judgeGates, selectBest, type CheckpointMetrics, type GateResult, type Selection } from "./select-best.js";
export { classificationReportDict, classificationReportText, confusionMatrixText } from "./report-text.js";
export { labelsFromFile } from "./labels-from-file.js";
export { runReportText, type BestRecord, type RunReport, type RunState } from "./run-report.js";
export { runReportHtml } from "./run-report-html.js";
