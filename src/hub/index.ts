export { adapterFiles, downloadAdapter } from "./download-adapter.js";
export { downloadModel, neededFiles } from "./download-model.js";
export {
  downloadRepo,
  type DownloadedRepo,
  type DownloadOptions,
  type DownloadProgress,
  type PickFiles,
  type RepoFileReader,
} from "./download-repo.js";
export { COMMIT } from "./hub-names.js";
export { repoPage, type HubRepo } from "./hub-repo.js";
export { openHubSession, type HubSession } from "./hub-session.js";
export { pushFiles, type PushFile, type PushOptions, type PushResult } from "./push-files.js";
export { downloadDataset, type DatasetSelection } from "./download-dataset.js";
