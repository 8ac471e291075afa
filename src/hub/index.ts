export { downloadModel, type DownloadedModel, type DownloadOptions, type DownloadProgress } from "./download-model.js";
export { openHubSession, type HubSession } from "./hub-session.js";
export { pushFiles, type PushFile, type PushOptions, type PushResult } from "./push-files.js";
