export { bestRecord, writeBestRecord } from "./best-record.js";
export { appendEvent, recordFailure } from "./event-log.js";
export { listRuns, type RunSummary } from "./list-runs.js";
export { loadRunReport } from "./load-run-report.js";
export { locateCheckpoint, type LocatedCheckpoint } from "./locate-checkpoint.js";
export { RESUME_FIELDS, planSha256, resumeRelevant } from "./plan-identity.js";
export { readRunPlan } from "./read-run-plan.js";
export { LOCK_FILE, acquireRunLock, type RunLock } from "./run-lock.js";
