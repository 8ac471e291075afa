export { BRIDGE_DIR, findPython, type PythonChoice } from "./find-python.js";
export { inspectEnvironment, type EngineStatus, type EnvironmentReport } from "./inspect-environment.js";
export type { Gpu } from "./probe-gpus.js";
export { probePython, type PythonProbe } from "./probe-python.js";
export type { TfjsPackage } from "./probe-tfjs.js";
