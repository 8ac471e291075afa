import { ExitCode, TuneError } from "../errors/index.js";
import { CardProblem, defaultCardConfig } from "./dataset-card.js";
import { datasetSplits, filesByPatterns, SplitProblem } from "./dataset-splits.js";
import { downloadRepo, type DownloadedRepo, type DownloadOptions, type PickFiles } from "./download-repo.js";

/** Which files of a dataset repo: one split as the datasets library finds it, or repo paths (globs allowed). */
export type DatasetSelection = { split: string } | { files: string[] };

/** The files of a split (or the named files) of a dataset repo; a split the repo lacks is refused listing those it has. */
export function datasetPick(id: string, selection: DatasetSelection): PickFiles {
  return async (paths, read) => {
    try {
      if ("files" in selection) return filesByPatterns(paths, selection.files);
      const card = paths.includes("README.md") ? defaultCardConfig(await read("README.md")) : undefined;
      const splits = datasetSplits(paths, card);
      const files = splits[selection.split];
      if (files === undefined) {
        const known = Object.keys(splits);
        throw TuneError.single(
          {
            code: "dataset-split-unknown",
            message: `${id} has no split ${JSON.stringify(selection.split)}; its splits are ${known.length > 0 ? known.join(", ") : "none (no data files found)"}`,
            hint: "Use one of those split names, or name the files with `files:` instead of `split:`.",
          },
          ExitCode.user,
        );
      }
      if (files.length === 0)
        throw TuneError.single(
          {
            code: "dataset-split-empty",
            message: `split ${selection.split} of ${id} has no data files`,
            hint: "Check the dataset card's `configs:` patterns, or name the files with `files:`.",
          },
          ExitCode.user,
        );
      return files;
    } catch (error) {
      if (!(error instanceof SplitProblem || error instanceof CardProblem)) throw error;
      throw TuneError.single(
        {
          code: "dataset-files-unresolved",
          message: `cannot find the files of ${id}${"split" in selection ? ` split ${selection.split}` : ""}: ${error instanceof CardProblem ? "its dataset card (README.md): " : ""}${error.message}`,
          hint: "Name the files with `files:` (repo paths, globs allowed), or check the repo and revision.",
        },
        ExitCode.user,
      );
    }
  };
}

/** A dataset's files from the Hub into the shared Hugging Face cache (datasets--owner--name), see downloadRepo. */
export function downloadDataset(
  id: string,
  revision: string,
  selection: DatasetSelection,
  options: DownloadOptions = {},
): Promise<DownloadedRepo> {
  return downloadRepo({ type: "dataset", id }, revision, datasetPick(id, selection), options);
}
