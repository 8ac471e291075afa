export { classificationReport, type ClassificationReport, type ClassScores } from "./classification-report.js";
export { compareDistributions, type DistributionComparison } from "./distribution.js";
export { evaluatePredictions, readPredictions, type PredictionRow, type SplitEvaluation } from "./evaluate-predictions.js";
export { parseAnswer, type ParseRules } from "./parse-answer.js";
