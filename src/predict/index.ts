export {
  checkOutputFile,
  classifierCheckpoint,
  predictFile,
  predictRows,
  readInputRows,
  writeOutput,
  type PredictOptions,
  type PredictSummary,
  type Row,
  type RowPrediction,
} from "./predict-file.js";
