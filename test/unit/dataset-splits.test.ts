import { describe, expect, it } from "vitest";
import { defaultCardConfig } from "../../src/hub/dataset-card.js";
import { datasetSplits, globRegExp } from "../../src/hub/dataset-splits.js";
import { datasetPick } from "../../src/hub/download-dataset.js";
import { isTuneError } from "../../src/errors/index.js";

// The cases of huggingface/datasets' tests/test_data_files.py (test_get_data_files_patterns),
// with .csv for .txt since tune reads CSV, Parquet and JSON (Lines) only.
const LIBRARY_CASES: Array<Record<string, string | string[]>> = [
  { train: "train.csv", validation: "valid.csv", test: "test.csv" },
  { train: "data/train.csv", validation: "data/valid.csv", test: "data/test.csv" },
  { train: "train/split.csv", validation: "valid/split.csv", test: "test/split.csv" },
  {
    train: [0, 1, 2].map((i) => `data/train_${i}.csv`),
    validation: [0, 1, 2].map((i) => `data/validation_${i}.csv`),
    test: [0, 1, 2].map((i) => `data/test_${i}.csv`),
  },
  {
    train: [0, 1, 2].map((i) => `data/train-0000${i}-of-00003.csv`),
    validation: [0, 1, 2].map((i) => `data/validation-0000${i}-of-00003.csv`),
    test: [0, 1, 2].map((i) => `data/test-0000${i}-of-00003.csv`),
    random: [0, 1, 2].map((i) => `data/random-0000${i}-of-00003.csv`),
  },
  { train: "dataset.csv" },
  { train: "data/dataset.csv" },
  { train: "my_train_dir/dataset.csv" },
  { train: "data/my_train_file.csv" },
  { test: "my_test_dir/dataset.csv" },
  { test: "data/my_test_file.csv" },
  { validation: "my_validation_dir/dataset.csv" },
  { validation: "data/my_validation_file.csv" },
  { train: "train_dir/dataset.csv" },
  { test: "test_dir/dataset.csv" },
  { validation: "data/validation_file.csv" },
  { train: "my_train/dataset.csv" },
  { validation: "data/my_validation.csv" },
  { test: "eval.csv" },
  { test: "data/eval.csv" },
  { test: "eval/dataset.csv" },
  { validation: "dev.csv" },
  { validation: "dev/dataset.csv" },
  { validation: "val.csv" },
  { validation: "data/val.csv" },
  { train: "train.parquet", validation: "valid.parquet", test: "test.parquet" },
  { train: "developers_list.csv" },
  { train: "data/seqeval_results.csv" },
  { train: "contest.csv" },
  { test: "my.test.file.csv" },
  { test: "my-test-file.csv" },
  { test: "my test file.csv" },
  { test: "test00001.csv" },
  { test: "test/train.csv" },
];

const card = (yaml: string) => defaultCardConfig(`---\n${yaml}\n---\n# A dataset\n`);

describe("a Hub dataset's splits, found as the datasets library finds them", () => {
  it.each(LIBRARY_CASES.map((c) => [JSON.stringify(c), c] as const))("%s", (_name, expected) => {
    const files = Object.fromEntries(Object.entries(expected).map(([split, f]) => [split, [f].flat()]));
    const paths = [...Object.values(files).flat(), "README.md", ".gitattributes"];
    expect(datasetSplits(paths, undefined)).toEqual(files);
  });

  it("orders sharded splits train, validation, test, then the rest by name", () => {
    const paths = [
      "data/zeta-00000-of-00001.parquet",
      "data/test-00000-of-00001.parquet",
      "data/alpha-00000-of-00001.parquet",
    ];
    expect(Object.keys(datasetSplits(paths, undefined))).toEqual(["test", "alpha", "zeta"]);
  });

  it("skips hidden files and folders, __special__ folders and metadata files; keeps a split's most common format", () => {
    const paths = [
      ".hidden/train.csv",
      "__pycache__/train.csv",
      "data/.train.csv",
      "dataset_info.json",
      "data/train-a.csv",
      "data/train-b.csv",
      "data/train-c.parquet",
      "data/train-notes.txt",
    ];
    expect(datasetSplits(paths, undefined)).toEqual({ train: ["data/train-a.csv", "data/train-b.csv"] });
  });

  it("says a split's files are in no format tune reads", () => {
    expect(() => datasetSplits(["train.txt", "test.txt"], undefined)).toThrow(/no format tune reads/);
  });

  it("reads the default config's data_files in each of its shapes, relative to data_dir", () => {
    const paths = ["a/one.csv", "a/two.csv", "b/three.jsonl", "sub/x/t.csv", "train.csv"];
    const listed = card(
      "configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: a/*.csv\n  - split: holdout\n    path: [b/three.jsonl]",
    );
    expect(datasetSplits(paths, listed)).toEqual({ train: ["a/one.csv", "a/two.csv"], holdout: ["b/three.jsonl"] });
    expect(datasetSplits(paths, card("configs:\n- config_name: only\n  data_files: a/two.csv"))).toEqual({
      train: ["a/two.csv"],
    });
    expect(datasetSplits(paths, card("configs:\n- config_name: only\n  data_files: [a/two.csv, a/o*]"))).toEqual({
      train: ["a/two.csv", "a/one.csv"],
    });
    expect(datasetSplits(paths, card("configs:\n- config_name: only\n  data_dir: sub"))).toEqual({
      train: ["sub/x/t.csv"],
    });
  });

  it("picks the config marked default among several, and refuses several without one", () => {
    const two = "configs:\n- config_name: a\n  data_files: a.csv\n- config_name: b\n  data_files: b.csv";
    expect(() => card(two)).toThrow(/several configs \(a, b\) and none is the default/);
    expect(card(`${two}\n  default: true`)).toMatchObject({ name: "b", dataFiles: { train: ["b.csv"] } });
    expect(card("pretty_name: x")).toBeUndefined();
    expect(defaultCardConfig("# no front matter\n")).toBeUndefined();
  });

  it("refuses a card that names a file the repo lacks, as the library does", () => {
    expect(() => datasetSplits(["a.csv"], card("configs:\n- config_name: x\n  data_files: missing.csv"))).toThrow(
      /names missing\.csv/,
    );
  });

  it("matches globs as fsspec does: * within a name, ** across folders, classes", () => {
    expect(globRegExp("data/*.parquet").test("data/x.parquet")).toBe(true);
    expect(globRegExp("data/*.parquet").test("data/sub/x.parquet")).toBe(false);
    expect(globRegExp("**/train[-._ 0-9]*").test("train.csv")).toBe(true);
    expect(globRegExp("**/train[-._ 0-9]*").test("a/b/train_1.csv")).toBe(true);
    expect(globRegExp("**/train[-._ 0-9]*").test("trainer.csv")).toBe(false);
    expect(globRegExp("train/**").test("train/a/b.csv")).toBe(true);
    expect(globRegExp("file[!a].csv").test("fileb.csv")).toBe(true);
  });
});

describe("choosing a dataset's files", () => {
  const pickFrom = async (paths: string[], selection: { split: string } | { files: string[] }, readme = "") => {
    const pick = datasetPick("acme/reviews", selection);
    return Promise.resolve(pick(paths, async () => readme)).then(
      (files) => ({ files }),
      (error: unknown) => {
        if (!isTuneError(error)) throw error;
        return { code: error.problems[0]?.code, message: error.problems[0]?.message, exit: error.exitCode };
      },
    );
  };

  it("refuses an unknown split, listing the splits the repo has", async () => {
    const paths = ["data/train-00000-of-00001.parquet", "data/test-00000-of-00001.parquet"];
    expect(await pickFrom(paths, { split: "validation" })).toEqual({
      code: "dataset-split-unknown",
      message: 'acme/reviews has no split "validation"; its splits are train, test',
      exit: 2,
    });
  });

  it("refuses a split whose card patterns match no file", async () => {
    const readme =
      "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: none/*.csv\n---\n";
    expect(await pickFrom(["README.md", "a.csv"], { split: "train" }, readme)).toMatchObject({
      code: "dataset-split-empty",
      exit: 2,
    });
  });

  it("takes named files in the order given, globs sorted, and refuses a name that matches nothing", async () => {
    const paths = ["x/b.csv", "x/a.csv", "top.jsonl"];
    expect(await pickFrom(paths, { files: ["top.jsonl", "x/*.csv"] })).toEqual({
      files: ["top.jsonl", "x/a.csv", "x/b.csv"],
    });
    expect(await pickFrom(paths, { files: ["y.csv"] })).toMatchObject({
      code: "dataset-files-unresolved",
      message: "cannot find the files of acme/reviews: no file of the repo matches y.csv",
    });
  });
});
