import { isAbsolute, resolve as resolvePath } from "node:path";
import { TUNE_VERSION } from "../version.js";
import { presentSplits } from "./check-consistency.js";
import type { LoadedRecipe, RecipeOverrides } from "./load-recipe.js";
import { classifyModelRef, type ModelRef } from "./model-ref.js";
import { worldSize } from "./process-count.js";
import {
  GATE_PATTERN,
  LOWER_IS_BETTER,
  type HubData,
  type Metric,
  type Recipe,
  type SplitName,
  type Task,
} from "./schema.js";

/**
 * Bumped whenever a field of RunPlan changes meaning. Every reader of a plan.json checks it:
 * readRunPlan on this side, read_plan in the torch engine's worker.
 */
export const PLAN_VERSION = 3;

export interface Gate {
  /** As written in the recipe. */
  text: string;
  split: SplitName;
  metric: Metric;
  op: ">=" | "<=" | ">" | "<" | "==";
  value: number;
}

/**
 * The recipe with every default made explicit and every path absolute: the only thing engines
 * and the runner read (contract 1 in DESIGN.md). Fields that need the data read first
 * (`data.manifests` and `schedule`) are null until completePlan fills them, once, after the data
 * is prepared.
 */
export interface RunPlan {
  plan_version: typeof PLAN_VERSION;
  tune_version: string;
  name: string;
  task: Task;
  engine: Recipe["engine"];
  description: string | null;
  recipe: { file: string; sha256: string; overrides: RecipeOverrides };
  run_dir: string;
  model: Recipe["model"] & {
    source: ModelRef;
    /** With `model.adapter`: the adapter training starts from, as found (set after resolving, see planFromAdapter). */
    adapter_source?: AdapterSource;
  };
  quantization: Recipe["quantization"] | null;
  lora: Recipe["lora"] & { task_type: "SEQ_CLS" | "CAUSAL_LM" | null };
  data: Omit<Recipe["data"], "train" | "eval" | "test" | "file" | "hub" | "labels" | "sample"> & {
    train: DataSource | null;
    eval: DataSource | null;
    test: DataSource | null;
    file: string | null;
    /** A Hub dataset split by `split`, as `file` is. */
    hub: HubData | null;
    sample: Recipe["data"]["sample"] | null;
    labels: string[] | null;
    splits: SplitName[];
    manifests: Partial<Record<SplitName, string>> | null;
  };
  template: Recipe["template"] | null;
  generation: Recipe["generation"];
  training: Omit<Recipe["training"], "epochs" | "max_steps" | "eval_batch_size" | "warmup_steps" | "warmup_ratio"> & {
    epochs: number | null;
    max_steps: number | null;
    eval_batch_size: number;
    warmup_steps: number | null;
    warmup_ratio: number | null;
    effective_batch_size: number;
  };
  checkpoints: Recipe["checkpoints"];
  eval: {
    splits: SplitName[];
    metrics: Metric[];
    best_metric: Metric;
    greater_is_better: boolean;
    /** The split the best checkpoint is chosen on: eval, else train; never test (null: the newest checkpoint is kept as best). */
    selection_split: SplitName | null;
    gates: Gate[];
    parse: Recipe["eval"]["parse"];
    subgroups: string[];
  };
  distributed: Recipe["distributed"] | null;
  hub: Recipe["hub"] | null;
  merge: Recipe["merge"] | null;
  schedule: Schedule | null;
}

/** An existing adapter: where it is, where it came from, and what its files hash to. */
export interface AdapterSource {
  source: "local" | "hub";
  /** Its folder: the local one, or its snapshot in the Hugging Face cache. */
  dir: string;
  /** The Hub id, the revision asked for and the commit it resolved to. */
  id?: string;
  revision?: string;
  commit?: string;
  /** sha256 of adapter_config.json and adapter_model.safetensors, in that order. */
  sha256: string;
}

/** Where a split's rows come from: a local file (absolute in a plan), or files of a Hub dataset. */
export type DataSource = string | { hub: HubData };

/** The roles a plan's data can have: `pool` is `file` or `hub`, divided by `split`. */
export type DataRole = "pool" | SplitName;

/** The Hub datasets a plan reads, by role, in the order data is read. */
export function hubDataSources(plan: RunPlan): Array<{ role: DataRole; hub: HubData }> {
  const { data } = plan;
  const roles: Array<[DataRole, DataSource | null]> = [
    ["pool", data.hub ? { hub: data.hub } : null],
    ["train", data.train],
    ["eval", data.eval],
    ["test", data.test],
  ];
  return roles.flatMap(([role, source]) => (source && typeof source !== "string" ? [{ role, hub: source.hub }] : []));
}

/** The training schedule both engines follow, derived from the plan and the train split's size. */
export interface Schedule {
  total_steps: number;
  warmup_steps: number;
  /** Optimizer steps that consume the train split once. */
  steps_per_epoch: number;
  /** A checkpoint every this many optimizer steps (and at the last one). */
  checkpoint_every: number;
  /** Micro-batches in one optimizer step, over all processes (accumulation x processes). */
  micro_batches_per_step: number;
}

/** A plan as the engines read it: its schedule filled in (see completePlan). */
export type CompletePlan = RunPlan & { schedule: Schedule };

export interface ResolveOptions {
  /** Output root; the run directory is `<out>/<name>`. Default `adapters` in the working directory. */
  out?: string;
}

const DEFAULT_EPOCHS = 3;

/** Recipe -> RunPlan. Pure apart from reading the working directory for relative paths. */
export function resolvePlan(loaded: LoadedRecipe, options: ResolveOptions = {}): RunPlan {
  const { recipe, baseDir } = loaded;
  const { name } = recipe;
  const absolute = (path: string | undefined) =>
    path === undefined ? null : isAbsolute(path) ? path : resolvePath(baseDir, path);
  const source = (value: DataSource | undefined) => (typeof value === "string" ? absolute(value) : (value ?? null));
  const { train, eval: evalFile, test, file, hub, labels, sample, ...dataRest } = recipe.data;
  const splits = [...presentSplits(recipe)];
  const training = recipe.training;
  const maxSteps = training.max_steps ?? null;

  return {
    plan_version: PLAN_VERSION,
    tune_version: TUNE_VERSION,
    name,
    task: recipe.task,
    engine: recipe.engine,
    description: recipe.description ?? null,
    recipe: { file: loaded.file, sha256: loaded.sha256, overrides: loaded.overrides },
    run_dir: resolvePath(options.out ?? "adapters", name),
    model: { ...recipe.model, source: classifyModelRef(recipe.model.base, baseDir) },
    quantization: recipe.quantization ?? null,
    lora: { ...recipe.lora, task_type: peftTaskType(recipe.task) },
    data: {
      ...dataRest,
      train: source(train),
      eval: source(evalFile),
      test: source(test),
      file: absolute(file),
      hub: hub ?? null,
      sample: sample ?? null,
      labels: labels ?? null,
      splits,
      manifests: null,
    },
    template: recipe.template ?? null,
    generation: recipe.generation,
    training: {
      ...training,
      epochs: maxSteps === null ? (training.epochs ?? DEFAULT_EPOCHS) : null,
      max_steps: maxSteps,
      eval_batch_size: training.eval_batch_size ?? training.batch_size,
      warmup_steps: training.warmup_ratio === undefined ? (training.warmup_steps ?? 0) : null,
      warmup_ratio: training.warmup_ratio ?? null,
      effective_batch_size: training.batch_size * training.gradient_accumulation * worldSize(recipe.distributed),
    },
    checkpoints: recipe.checkpoints,
    eval: resolveEval(recipe, splits),
    distributed: recipe.distributed ?? null,
    hub: recipe.hub ?? null,
    merge: recipe.merge ?? null,
    schedule: null,
  };
}

function resolveEval(recipe: Recipe, present: SplitName[]): RunPlan["eval"] {
  const generative = recipe.task === "generative-classification" || recipe.task === "prompting";
  const defaultMetrics: Metric[] =
    recipe.task === "causal-lm"
      ? ["loss"]
      : ["accuracy", "f1_macro", "f1_weighted", ...(generative ? (["error_rate"] as const) : [])];
  const metrics = recipe.eval.metrics ?? defaultMetrics;
  const bestMetric = recipe.eval.best_metric ?? (recipe.task === "causal-lm" ? "loss" : "f1_weighted");
  const splits = recipe.eval.splits ?? (present.length > 1 ? present.filter((s) => s !== "train") : present);
  const selection = (["eval", "train"] as const).find((split) => splits.includes(split)) ?? null;
  return {
    splits,
    metrics: metrics.includes(bestMetric) ? metrics : [...metrics, bestMetric],
    best_metric: bestMetric,
    greater_is_better: !LOWER_IS_BETTER.has(bestMetric),
    selection_split: selection,
    gates: recipe.eval.gates.map((text) => parseGate(text, selection ?? splits[0] ?? "eval")),
    parse: recipe.eval.parse,
    subgroups: recipe.eval.subgroups,
  };
}

function parseGate(text: string, defaultSplit: SplitName): Gate {
  const match = GATE_PATTERN.exec(text);
  if (!match) throw new Error(`gate "${text}" passed validation but does not parse`);
  const [, split, metric, op, value] = match;
  return {
    text,
    split: (split as SplitName | undefined) ?? defaultSplit,
    metric: metric as Metric,
    op: op as Gate["op"],
    value: Number(value),
  };
}

function peftTaskType(task: Task): RunPlan["lora"]["task_type"] {
  if (task === "sequence-classification") return "SEQ_CLS";
  if (task === "prompting") return null;
  return "CAUSAL_LM";
}
