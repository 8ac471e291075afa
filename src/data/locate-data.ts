import { join } from "node:path";
import { ExitCode, isTuneError, TuneError } from "../errors/index.js";
import { downloadDataset, type DownloadProgress } from "../hub/index.js";
import { hubDataSources, locateRecipeField, type DataRole, type HubData, type RunPlan } from "../recipe/index.js";

/** A Hub dataset a run read: what the recipe named and the commit it resolved to (provenance, cache key, model card). */
export interface HubDatasetRecord {
  role: DataRole;
  repo: string;
  revision: string;
  commit: string;
  /** The repo paths read, in order. */
  files: string[];
}

/** The files each role of a plan's data reads, in order: local files as given, Hub files in the Hugging Face cache. */
export interface LocatedData {
  files: Partial<Record<DataRole, string[]>>;
  hub: HubDatasetRecord[];
  warnings: string[];
}

export interface LocateDataOptions {
  /** Bytes of a Hub dataset being fetched into the Hugging Face cache. */
  onDownload?: (progress: DownloadProgress) => void;
}

/**
 * Finds the files of every role of the plan's data. Hub datasets are resolved to a commit and
 * fetched (or found in the cache offline) here, a step of its own, before anything is read.
 */
export async function locateData(plan: RunPlan, options: LocateDataOptions = {}): Promise<LocatedData> {
  const { data } = plan;
  const files: LocatedData["files"] = {};
  const local: Array<[DataRole, unknown]> = [
    ["pool", data.file],
    ["train", data.train],
    ["eval", data.eval],
    ["test", data.test],
  ];
  for (const [role, value] of local) if (typeof value === "string") files[role] = [value];
  const hub: HubDatasetRecord[] = [];
  const warnings: string[] = [];
  for (const { role, hub: source } of hubDataSources(plan)) {
    const selection = source.split !== undefined ? { split: source.split } : { files: source.files ?? [] };
    let downloaded;
    try {
      downloaded = await downloadDataset(source.repo, source.revision, selection, { onProgress: options.onDownload });
    } catch (error) {
      throw located(error, plan, role, source);
    }
    files[role] = downloaded.files.map((path) => join(downloaded.dir, path));
    hub.push({
      role,
      repo: source.repo,
      revision: source.revision,
      commit: downloaded.commit,
      files: downloaded.files,
    });
    if (downloaded.offlineReason)
      warnings.push(
        `${downloaded.offlineReason}; using the copy of the dataset ${source.repo} in the Hugging Face cache (commit ${downloaded.commit})`,
      );
  }
  return { files, hub, warnings };
}

/** A user's mistake about a Hub dataset (a split it lacks, files it does not have) names the recipe field and its line. */
function located(error: unknown, plan: RunPlan, role: DataRole, source: HubData): unknown {
  if (!isTuneError(error) || error.exitCode !== ExitCode.user) return error;
  const path = [
    ...(role === "pool" ? ["data", "hub"] : ["data", role, "hub"]),
    source.split !== undefined ? "split" : "files",
  ];
  const field = path.join(".");
  return new TuneError(
    error.problems.map((problem) => ({
      ...problem,
      message: `${field}: ${problem.message}`,
      field,
      location: problem.location ?? locateRecipeField(plan.recipe.file, path),
    })),
    error.exitCode,
  );
}
