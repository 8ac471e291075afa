export { checkPipeline, type PipelineCheck } from "./check-pipeline.js";
export { isPipelineFile } from "./load-pipeline.js";
export { predictPipelineFile } from "./predict-pipeline.js";
export { runPipeline } from "./run-pipeline.js";
