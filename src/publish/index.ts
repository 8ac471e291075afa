export { mergeCheckpoint, pushCheckpoint } from "./publish-checkpoint.js";
export { checkpointPusher, publishRun, refuseUnpushable, type PublishEvent } from "./publish-run.js";
