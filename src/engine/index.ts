export { chooseEngine, engineForResume, type EngineChoice } from "./choose-engine.js";
export { BRIDGE_DIR, findPython, type PythonChoice } from "./find-python.js";
export { inspectEnvironment, type EngineStatus, type EnvironmentReport } from "./inspect-environment.js";
export { probeGpus, type Gpu } from "./probe-gpus.js";
export { probePython, type PythonProbe } from "./probe-python.js";
export type { TfjsPackage } from "./probe-tfjs.js";
export {
  engineFor,
  type Engine,
  type EngineName,
  type SplitPredictions,
  type ClusterNode,
  type TrainOptions,
  type TrainResult,
} from "./engine.js";
export type { StepProgress, TrainEvent } from "./events.js";
export { writeInitialAdapter } from "./initial-adapter.js";
export type { ReplyGenerator } from "./reply-generator.js";
export { setupPython, type SetupResult } from "./torch/setup-python.js";
export { estimateMemory, fitsGpu, type MemoryEstimate } from "./torch/estimate-memory.js";
