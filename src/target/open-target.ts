import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { peftConfigRefusals, readAdapterConfig, readPeftAdapter } from "../adapter/index.js";
import { checkpointEngine } from "../checkpoint/index.js";
import { chooseEngine, type EngineName } from "../engine/index.js";
import { ExitCode, isTuneError, TuneError } from "../errors/index.js";
import { downloadAdapter, type DownloadProgress } from "../hub/index.js";
import { loadRecipe, type AdapterSource, type RunPlan } from "../recipe/index.js";
import { locateCheckpoint, type LocatedCheckpoint } from "../runs/index.js";
import { adapterRef } from "./adapter-ref.js";
import { atRecordedCommits } from "./recorded-datasets.js";
import { adapterBase, chatOnlyRecipe, foreignPlan, type AdapterContents } from "./foreign-plan.js";

/** Where an adapter from outside tune came from, recorded wherever its results are. */
export interface ForeignAdapter extends AdapterSource {
  /** Its folder name, or the Hub repo's name: the default name of what tune writes about it. */
  name: string;
}

/** A checkpoint or adapter a verb was pointed at, with the plan it is used with. */
export interface Target extends LocatedCheckpoint {
  /** Set for an adapter from outside a tune run. */
  foreign: ForeignAdapter | null;
}

export interface TargetOptions {
  /**
   * `evaluate`: eval and predict, which need a plan (a run's, or `--recipe`'s for an adapter from
   * elsewhere); `chat`: a plan, made up when a generative adapter has no recipe; `publish`: merge
   * and push, which need a plan only when a recipe is given.
   */
  purpose: "evaluate" | "chat" | "publish";
  /** A recipe giving an adapter from elsewhere its data, template, labels and evaluation. */
  recipe?: string;
  /** A base model replacing the adapter's base_model_name_or_path. */
  base?: string;
  /** The revision of a Hub adapter. */
  revision?: string;
  /** The folder an adapter from elsewhere's results go to (its plan's run_dir). */
  out?: string;
  allowDamaged?: boolean;
  onDownload?: (progress: DownloadProgress) => void;
}

function flagError(message: string, hint: string, flag: string): TuneError {
  return TuneError.single({ code: "flag-invalid", message, hint, location: { file: flag } }, ExitCode.user);
}

/**
 * A Hub id that is not on the Hub (or not reachable) may be a mistyped local path such as
 * `adapters/my-run`: the message says there is no such folder either.
 */
function noFolderEither(error: unknown, path: string): unknown {
  const [first, ...rest] = isTuneError(error) ? error.problems : [];
  if (!first || !["hub-not-found", "hub-token-missing", "hub-unreachable", "model-not-cached"].includes(first.code))
    return error;
  const message = `${first.message}; and there is no folder ${resolve(path)} here`;
  return new TuneError([{ ...first, message }, ...rest], (error as TuneError).exitCode);
}

/** sha256 over an adapter's two files: what identifies it wherever it came from. */
export function adapterSha256(dir: string): string {
  const hash = createHash("sha256");
  for (const file of ["adapter_config.json", "adapter_model.safetensors"]) hash.update(readFileSync(join(dir, file)));
  return hash.digest("hex");
}

/**
 * An adapter from outside tune, read and checked before use: every adapter_config.json field the
 * engines (or the merge) cannot honour is refused by name, and the tensors are paired by module
 * (LoRA on embeddings or convolutions refused).
 */
export function readForeignAdapter(dir: string, use: "merge" | "run", task?: RunPlan["task"]): AdapterContents {
  const config = readAdapterConfig(dir);
  const refusals = peftConfigRefusals(config as unknown as Record<string, unknown>, use, task);
  if (refusals.length > 0)
    throw new TuneError(
      refusals.map(({ field, message, hint }) => ({
        code: "adapter-unsupported",
        message: `${field}: ${message}`,
        field,
        location: { file: join(dir, "adapter_config.json") },
        hint,
      })),
      ExitCode.user,
    );
  const adapter = readPeftAdapter(dir);
  const modules = [...adapter.lora.keys()];
  adapter.close();
  return { dir, config, modules };
}

/**
 * The one place a verb's `<checkpoint|run|adapter>` argument is resolved: a tune run (its best
 * checkpoint), a checkpoint of one, a local PEFT adapter folder, or a Hub adapter
 * (`owner/name[@revision]`, downloaded into the Hugging Face cache, adapter files only). An
 * adapter from elsewhere gets its plan from `recipe` (or, to chat, from its own config), its base
 * from `base` or its base_model_name_or_path, and its LoRA shape from its config.
 */
export async function openTarget(path: string, options: TargetOptions): Promise<Target> {
  const ref = adapterRef(path, process.cwd(), "<checkpoint>", options.revision);
  let identity: Omit<ForeignAdapter, "name" | "dir" | "sha256"> = { source: "local" };
  let dir: string;
  if (ref.kind === "hub") {
    const downloaded = await downloadAdapter(ref.id, ref.revision, { onProgress: options.onDownload }).catch(
      (error: unknown) => {
        throw noFolderEither(error, path);
      },
    );
    dir = downloaded.dir;
    identity = { source: "hub", id: ref.id, revision: ref.revision, commit: downloaded.commit };
  } else dir = ref.path;
  const located = locateCheckpoint(dir, { allowDamaged: options.allowDamaged });
  if (located.plan) {
    if (options.recipe !== undefined)
      throw flagError(
        `${located.checkpoint} belongs to a tune run, whose plan says how it is used`,
        "Drop --recipe; it is for adapters trained elsewhere.",
        "--recipe",
      );
    if (options.base !== undefined && options.purpose !== "publish")
      throw flagError(
        `${located.checkpoint} belongs to a tune run, which names its base model`,
        "Drop --base; it is for adapters trained elsewhere (and for merging into another copy of the base).",
        "--base",
      );
    return { ...located, plan: atRecordedCommits(located.plan, located.checkpoint), foreign: null };
  }
  const name = ref.kind === "hub" ? (ref.id.split("/").at(-1) as string) : basename(located.checkpoint);
  const foreign: ForeignAdapter = { name, dir: located.checkpoint, ...identity, sha256: adapterSha256(dir) };
  const loaded = options.recipe === undefined ? undefined : await loadRecipe(options.recipe);
  const task = loaded?.recipe.task ?? (options.purpose === "chat" ? "causal-lm" : undefined);
  const adapter = readForeignAdapter(located.checkpoint, options.purpose === "publish" ? "merge" : "run", task);
  if (!loaded && options.purpose === "evaluate")
    throw flagError(
      `${located.checkpoint} is an adapter without a tune run: nothing says which data, labels and template it is used with`,
      "Pass --recipe <file>: its data, template, labels and evaluation are used (its base and LoRA come from the adapter).",
      "--recipe",
    );
  const runDir = resolve(options.out ?? join("adapters", `${name}-eval`));
  let plan: RunPlan | null = null;
  if (loaded || options.purpose === "chat") {
    const base = adapterBase(adapter, options.base);
    plan = foreignPlan(loaded ?? chatOnlyRecipe(adapter, base.base), adapter, base, runDir);
  }
  return { ...located, plan, foreign };
}

/**
 * The engine that runs a target: a tune checkpoint's own (its manifest says), or for an adapter
 * from elsewhere the one a run of its plan would train on (torch where it works, else tfjs).
 */
export async function targetEngine(target: Target & { plan: RunPlan }): Promise<EngineName> {
  return target.foreign ? (await chooseEngine(target.plan)).name : checkpointEngine(target.checkpoint);
}
