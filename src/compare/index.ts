export { compareRuns } from "./compare-runs.js";
