export type { LaunchFile } from "./node-command.js";
export { pytorchJob } from "./pytorch-job.js";
export { slurmScript } from "./slurm-script.js";
