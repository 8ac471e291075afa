export { downloadModel, neededFiles, type DownloadedModel, type DownloadOptions, type DownloadProgress } from "./download-model.js";
export { cachedSnapshot, repoCacheFolder } from "./hub-cache.js";
export { hubCacheDir, hubEndpoint, hubOffline, readHubToken, speaksXet, type HubToken } from "./hub-environment.js";
export { hubFailure } from "./hub-failure.js";
export { retryingFetch, type RetryOptions } from "./retrying-fetch.js";
export { modelCard, type AdapterSummary, type CardInput } from "./model-card.js";
export { pushFiles, type PushFile, type PushOptions, type PushResult } from "./push-files.js";
