import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cacheFailure, defaultCacheRoot, publishFolder, temporaryFolderFor, writeFileAtomic } from "../files/index.js";
import { TuneError } from "../errors/index.js";
import type { RunPlan, SplitName } from "../recipe/index.js";
import { dataError } from "./data-error.js";
import { DATASET_FORMAT_VERSION, type DatasetManifest } from "./dataset/manifest.js";
import { readDatasetManifest } from "./dataset/read-dataset.js";
import { writeDatasetSplit } from "./dataset/write-dataset.js";
import type { Example } from "./example.js";
import { lengthStats } from "./length-stats.js";
import { hashFile, loadExamples } from "./load-examples.js";
import { locateData, type HubDatasetRecord, type LocateDataOptions } from "./locate-data.js";
import { fewShotBlock } from "./template/few-shot.js";
import { chatTemplate } from "./template/render-chat.js";
import { renderExample, type RenderContext } from "./template/render-example.js";
import type { EncodedExample } from "./tokenize/encode-rendered.js";
import { loadTokenizer, type TextTokenizer } from "./tokenize/load-tokenizer.js";
import type { LocatedModel } from "../model/index.js";
import { tokenizeAll } from "./tokenize/tokenize-all.js";

export type PrepareStage = "hash" | "read" | "tokenize" | "write";

export interface PrepareOptions extends LocateDataOptions {
  /** Root of tune's cache (default: TUNE_CACHE_DIR, $XDG_CACHE_HOME/tune or ~/.cache/tune). */
  cacheRoot?: string;
  onProgress?: (stage: PrepareStage, done: number, total: number) => void;
  /**
   * The few-shot block to put in every prompt instead of drawing one from this plan's train
   * split: new texts judged or labelled with a few-shot run get that run's own block.
   */
  fewShot?: string;
}

export interface PreparedData {
  /** Content hash of data, tokenizer, template and settings: the cache entry's name. */
  key: string;
  dir: string;
  /** True when an identical earlier preparation was reused and nothing was tokenized. */
  cached: boolean;
  splits: Partial<Record<SplitName, { dir: string; manifest: DatasetManifest }>>;
  droppedEmpty: number;
  /** The Hub datasets read, each with the commit its revision resolved to. */
  datasets: HubDatasetRecord[];
  /** Things the user should know about this preparation and its model (printed by the CLI). */
  warnings: string[];
}

interface CacheIndex {
  key: string;
  splits: SplitName[];
  dropped_empty: number;
}

/**
 * Data files -> tokenized datasets (contract 2), cached by content hash: a second run with the
 * same data, tokenizer, template and settings reads the cache and tokenizes nothing. The cache
 * entry is built in a temporary folder and renamed into place, so it is never half-written.
 */
export async function prepareData(
  plan: RunPlan,
  model: LocatedModel,
  options: PrepareOptions = {},
): Promise<PreparedData> {
  const cacheRoot = options.cacheRoot ?? defaultCacheRoot();
  try {
    return await prepareInCache(plan, model, cacheRoot, options);
  } catch (error) {
    throw cacheFailure(error, cacheRoot);
  }
}

async function prepareInCache(
  plan: RunPlan,
  model: LocatedModel,
  cacheRoot: string,
  options: PrepareOptions,
): Promise<PreparedData> {
  const progress = options.onProgress ?? (() => {});
  const tokenizer = loadTokenizer(model.dir);
  const located = await locateData(plan, options);
  const files = Object.values(located.files).flat();
  const sources: Record<string, string> = {};
  for (const [i, file] of files.entries()) {
    progress("hash", i, files.length);
    sources[file] = await hashFile(file);
  }
  const key = cacheKey(plan, tokenizer, Object.values(sources), located.hub, options.fewShot);
  const root = join(cacheRoot, "datasets");
  const dir = join(root, key);
  const datasets = located.hub;
  const cached = fromCache(dir);
  if (cached) return { ...cached, datasets, warnings: [...model.warnings, ...located.warnings] };

  progress("read", 0, files.length);
  const { splits, droppedEmpty } = await loadExamples(plan, located);
  const temporary = temporaryFolderFor(dir);
  const context: RenderContext = {
    plan,
    fewShot: options.fewShot ?? fewShotBlock(plan, splits.train ?? []),
    chat: needsChatTemplate(plan)
      ? chatTemplate(tokenizer.chatTemplate, tokenizer.specialTokens, tokenizer.dir, tokenizer.allSpecialTokens)
      : null,
    withAnswer: plan.task !== "prompting",
  };
  const tokenLabels = plan.task === "causal-lm" || plan.task === "generative-classification";
  const written: SplitName[] = [];
  const warnings: string[] = [...model.warnings, ...located.warnings];
  const warnedBefore = warnings.length;
  for (const name of ["train", "eval", "test"] as const) {
    const examples = splits[name];
    if (!examples) continue;
    const rendered = examples.map((example) => renderOrExplain(example, context));
    const { encoded, backend } = await tokenizeAll(tokenizer, rendered, plan.data.max_length, tokenLabels, {
      onProgress: (done) => progress("tokenize", done, examples.length),
    });
    if (backend !== "native" && tokenizer.jsMayDiffer && warnings.length === warnedBefore) {
      warnings.push(
        "this tokenizer uses a Metaspace `split` setting the pure-JS tokenizer ignores, so some ids may differ from transformers'; install the optional @anush008/tokenizers package for exact ids",
      );
    }
    const kept = keepTrainable(examples, encoded, tokenLabels);
    progress("write", 0, 1);
    const classIds = plan.data.labels ? kept.examples.map((e) => e.label ?? -1) : null;
    writeDatasetSplit(join(temporary, name), {
      split: name,
      encoded: kept.encoded,
      exampleIds: kept.examples.map((e) => e.id),
      subgroups: Object.fromEntries(
        (plan.eval.subgroups ?? []).map((column) => [column, kept.examples.map((e) => e.fields[column] ?? "")]),
      ),
      classIds,
      tokenLabels,
      labelNames: plan.data.labels,
      stats: lengthStats(kept.encoded, classIds, plan.data.labels, encoded.length - kept.encoded.length),
      hashes: { key, tokenizer: tokenizer.sha256, sources },
    });
    written.push(name);
  }
  const index: CacheIndex = { key, splits: written, dropped_empty: droppedEmpty };
  writeFileAtomic(join(temporary, "index.json"), `${JSON.stringify(index, null, 2)}\n`);
  // A damaged entry in the way (see fromCache) is replaced by the one just built.
  publishFolder(temporary, dir, "index.json");
  return { ...(fromCache(dir) as PreparedData), cached: false, datasets, warnings };
}

/** A template that fails on one row (a chat template's raise_exception, say) names that row. */
function renderOrExplain(example: Example, context: RenderContext) {
  try {
    return renderExample(example, context);
  } catch (error) {
    if (error instanceof TuneError) throw error;
    throw dataError(
      example.source.file,
      example.source.line,
      `the template cannot render this row: ${(error as Error).message}`,
      "Fix the row, or the template it is rendered with.",
    );
  }
}

/**
 * A cache entry, when one is there and readable. Entries are published whole, so an unreadable
 * one was damaged afterwards (a disk error, a hand edit): it is removed and built again rather
 * than trusted or reported.
 */
function fromCache(dir: string): PreparedData | undefined {
  try {
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as CacheIndex;
    const splits: PreparedData["splits"] = {};
    for (const name of index.splits) {
      const splitDir = join(dir, name);
      splits[name] = { dir: splitDir, manifest: readDatasetManifest(splitDir) };
    }
    return { key: index.key, dir, cached: true, splits, droppedEmpty: index.dropped_empty, datasets: [], warnings: [] };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" || existsSync(dir))
      rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

/** Training examples that truncation left with nothing to learn are dropped (and counted). */
function keepTrainable(examples: readonly Example[], encoded: readonly EncodedExample[], tokenLabels: boolean) {
  if (!tokenLabels) return { examples, encoded };
  const keep = encoded.map((e) => e.labels.some((l) => l !== -100));
  return { examples: examples.filter((_, i) => keep[i]), encoded: encoded.filter((_, i) => keep[i]) };
}

function needsChatTemplate(plan: RunPlan): boolean {
  return (plan.task === "causal-lm" && !plan.template?.prompt) || plan.template?.chat === true;
}

/**
 * The cache entry's name: the data's content, the tokenizer, the template and every setting
 * that changes the examples, and for Hub datasets the commit each was read at (a new commit
 * tokenizes again, even where its files did not change, so an entry names one dataset version).
 */
function cacheKey(
  plan: RunPlan,
  tokenizer: TextTokenizer,
  sourceHashes: string[],
  hub: readonly HubDatasetRecord[],
  fewShot: string | undefined,
): string {
  const { train, eval: evalFile, test, file, hub: pooled, manifests, splits, ...settings } = plan.data;
  const material = {
    format_version: DATASET_FORMAT_VERSION,
    task: plan.task,
    roles: {
      train: train !== null,
      eval: evalFile !== null,
      test: test !== null,
      file: file !== null || pooled !== null,
    },
    settings,
    template: plan.template,
    subgroups: plan.eval.subgroups,
    few_shot_block: fewShot ?? null,
    tokenizer: tokenizer.sha256,
    sources: sourceHashes,
    ...(hub.length > 0 ? { hub: hub.map(({ role, repo, commit, files }) => ({ role, repo, commit, files })) } : {}),
  };
  return createHash("sha256").update(JSON.stringify(material)).digest("hex").slice(0, 32);
}

/** The few-shot block a run's prompts carry: drawn from its train split with the recipe's seed. */
export async function runFewShotBlock(plan: RunPlan): Promise<string> {
  if (!plan.template?.few_shot) return "";
  const { splits } = await loadExamples(plan);
  return fewShotBlock(plan, splits.train ?? []);
}
