import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { earlierMerge, mergeAdapter, readAdapterConfig, type MergeDtype, type MergeResult } from "../adapter/index.js";
import { manifestProvenance } from "../checkpoint/index.js";
import { writeFileAtomic } from "../files/index.js";
import { locateModel } from "../model/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import { modelCard, type AdapterSummary } from "./model-card.js";
import { pushFiles, type DownloadProgress, type PushFile, type PushResult } from "../hub/index.js";
import { classifyModelRef, type RunPlan } from "../recipe/index.js";
import { TUNE_VERSION } from "../version.js";
import type { LocatedCheckpoint } from "../runs/index.js";

export interface BaseOptions {
  /** A base model folder or Hub id replacing the one the run (or adapter) names. */
  base?: string;
  onDownload?: (progress: DownloadProgress) => void;
}

function adapterSummary(checkpoint: string): AdapterSummary {
  return readAdapterConfig(checkpoint) as unknown as AdapterSummary;
}

/** The base model folder an adapter merges into: --base, else the run's model, else the adapter's base_model_name_or_path. */
async function baseModelDir(
  located: LocatedCheckpoint,
  options: BaseOptions,
): Promise<{ dir: string; name: string; warnings: string[] }> {
  const named =
    options.base ??
    (located.plan ? undefined : (adapterSummary(located.checkpoint).base_model_name_or_path ?? undefined));
  if (!named && !located.plan)
    throw TuneError.single(
      {
        code: "merge-base-unknown",
        message: `${located.checkpoint} does not say which base model it was trained on`,
        hint: "Pass the base model with --base <folder|hub id>.",
      },
      ExitCode.user,
    );
  const plan =
    located.plan && !named
      ? located.plan
      : ({
          model: { base: named, revision: "main", source: classifyModelRef(named as string, process.cwd()) },
        } as RunPlan);
  const model = await locateModel(plan, { onDownload: options.onDownload });
  return { ...model, name: plan.model.base };
}

export interface MergeCheckpointOptions extends BaseOptions {
  out: string;
  dtype?: MergeDtype;
  onProgress?: (done: number, total: number) => void;
}

/** Merges a located checkpoint into its base model, with a model card for the merged model in README.md. */
export async function mergeCheckpoint(
  located: LocatedCheckpoint,
  options: MergeCheckpointOptions,
): Promise<MergeResult & { warnings: string[] }> {
  refuseUntrained(located);
  const base = await baseModelDir(located, options);
  const out = resolve(options.out);
  const replace = earlierMerge(out) !== undefined;
  const result = mergeAdapter({
    adapter: located.checkpoint,
    base: base.dir,
    out,
    dtype: options.dtype,
    labels: located.plan?.data.labels ?? undefined,
    provenance: {
      checkpoint: located.checkpoint,
      requested_dtype: options.dtype ?? "auto",
      base_model: base.name,
      base_revision: located.plan?.model.revision ?? null,
      step: located.step,
      run: located.plan?.name ?? null,
      tune_version: TUNE_VERSION,
    },
    replace,
    onProgress: options.onProgress,
  });
  const card = modelCard({
    repo: located.plan?.hub?.repo ?? located.plan?.name ?? "merged-model",
    kind: "merged",
    adapter: adapterSummary(located.checkpoint),
    plan: located.plan,
    step: located.step,
    metrics: located.metrics,
    gates: located.gates,
    provenance: manifestProvenance(located.checkpoint),
  });
  writeFileAtomic(join(out, "README.md"), card);
  const warnings = [...base.warnings];
  if (located.plan?.quantization)
    warnings.push(
      `the adapter was trained against a ${located.plan.quantization.bits}-bit quantized base and is merged into the full-precision weights: evaluate the merged model before relying on the adapter's metrics`,
    );
  return { ...result, files: [...result.files, "README.md"], warnings };
}

export interface PushCheckpointOptions extends BaseOptions {
  repo: string;
  private?: boolean;
  revision?: string;
  merged?: boolean;
  /** An existing merge of this checkpoint to push instead of merging again. */
  mergedDir?: string;
  dtype?: MergeDtype;
  dryRun?: boolean;
  force?: boolean;
  license?: string;
  onProgress?: (progress: { file: string; done: number; total: number }) => void;
  onMergeProgress?: (done: number, total: number) => void;
}

/** A prompting run's checkpoint is the base model itself: there is nothing to merge or publish. */
function refuseUntrained(located: LocatedCheckpoint): void {
  if (located.plan?.task !== "prompting") return;
  throw TuneError.single(
    {
      code: "checkpoint-untrained",
      message: `${located.checkpoint} belongs to a prompting run, which trains nothing: it is the base model`,
      hint: "Publish the base model's id with your prompt instead, or fine-tune (task generative-classification) and push that run.",
    },
    ExitCode.user,
  );
}

/** Refuses to publish a checkpoint that failed the recipe's gates, unless forced (locating it refused a damaged one unless forced). */
function refuseUnfit(located: LocatedCheckpoint, force: boolean): void {
  refuseUntrained(located);
  if (force) return;
  const failed = located.gates.filter((g) => !g.passed);
  if (failed.length > 0) {
    throw TuneError.single(
      {
        code: "push-gate-failed",
        message: `${located.checkpoint} failed its gates: ${failed.map((g) => `${g.text} (${g.value === null ? "not evaluated" : g.value.toFixed(4)})`).join(", ")}`,
        location: { file: located.checkpoint },
        hint: "Publishing it would ship a model the recipe says is not good enough; pass --force to publish it anyway.",
      },
      ExitCode.gateFailed,
    );
  }
}

/**
 * Publishes a checkpoint's adapter (adapter_config.json, adapter_model.safetensors) or the base
 * with the adapter merged in, with a generated model card, as one commit; optimizer state and
 * predictions never leave the machine. Unchanged files are not uploaded again.
 */
export async function pushCheckpoint(
  located: LocatedCheckpoint,
  options: PushCheckpointOptions,
): Promise<PushResult & { warnings: string[] }> {
  refuseUnfit(located, options.force === true);
  const adapter = adapterSummary(located.checkpoint);
  const card = modelCard({
    repo: options.repo,
    kind: options.merged ? "merged" : "adapter",
    adapter,
    plan: located.plan,
    step: located.step,
    metrics: located.metrics,
    gates: located.gates,
    provenance: manifestProvenance(located.checkpoint),
    license: options.license ?? located.plan?.hub?.license,
  });
  const title = `${options.merged ? "Merged model" : "Adapter"} from ${located.plan?.name ?? "tune"}${located.step !== null ? ` (step ${located.step})` : ""}`;
  let scratch: string | null = null;
  try {
    let files: PushFile[];
    let warnings: string[] = [];
    if (options.merged) {
      let dir = options.mergedDir;
      if (!dir) {
        scratch = mkdtempSync(join(located.runDir ?? tmpdir(), ".merge-for-push-"));
        const merged = await mergeCheckpoint(located, {
          base: options.base,
          out: join(scratch, "model"),
          dtype: options.dtype,
          onDownload: options.onDownload,
          onProgress: options.onMergeProgress,
        });
        warnings = merged.warnings;
        dir = merged.out;
      }
      files = readdirSync(dir)
        .filter((name) => name !== "README.md")
        .map((name) => ({ path: name, source: join(dir, name) }));
    } else {
      files = ["adapter_config.json", "adapter_model.safetensors"].map((name) => ({
        path: name,
        source: join(located.checkpoint, name),
      }));
    }
    files.push({ path: "README.md", content: new TextEncoder().encode(card) });
    const result = await pushFiles({
      repo: options.repo,
      files,
      revision: options.revision,
      private: options.private,
      title,
      dryRun: options.dryRun,
      onProgress: options.onProgress,
    });
    return { ...result, warnings };
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}
