import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { adapterProblem } from "../adapter/index.js";
import {
  checkpointMetrics,
  checkpointProblem,
  checkpointSteps,
  findCheckpoints,
  MANIFEST,
  manifestProvenance,
  removeLeftovers,
  retainCheckpoints,
} from "../checkpoint/index.js";
import { writeFileAtomic } from "../files/index.js";
import { prepareData, type PrepareOptions, type PreparedData } from "../data/index.js";
import {
  chooseEngine,
  engineFor,
  engineForResume,
  type ClusterNode,
  type EngineChoice,
  type Engine,
  type StepProgress,
  type TrainEvent,
  type TrainResult,
} from "../engine/index.js";
import { runReportHtml, selectBest, type BestRecord, type Selection } from "../eval/index.js";
import { ExitCode, fileSystemFailure, TuneError } from "../errors/index.js";
import { locateModel, type LocatedModel, type ModelOptions } from "../model/index.js";
import {
  loadRecipe,
  resolvePlan,
  type LoadedRecipe,
  type CompletePlan,
  type Metric,
  type RunPlan,
  type SplitName,
} from "../recipe/index.js";
import { clusterNode } from "./cluster-node.js";
import { processCountHint } from "./process-count-hint.js";
import { completePlan } from "./complete-plan.js";
import { followRun } from "./follow-run.js";
import { soundCheckpoints } from "./sound-checkpoints.js";
import { moveRunAside } from "./move-run-aside.js";
import { TUNE_VERSION } from "../version.js";
import { baseCheckpoint } from "./base-checkpoint.js";
import { bestRecord, writeBestRecord } from "../runs/index.js";
import { appendEvent, recordFailure } from "../runs/index.js";
import { loadRunReport } from "../runs/index.js";
import { planSha256, RESUME_FIELDS, resumeRelevant } from "../runs/index.js";
import { readRunPlan } from "../runs/index.js";
import { acquireRunLock, LOCK_FILE, type RunLock } from "../runs/index.js";
import { evaluateCheckpointSplit, predictWithEngine } from "../evaluate/index.js";
import { checkpointPusher, publishRun, refuseUnpushable, type PublishEvent } from "../publish/index.js";
import { writeRunDirectory } from "./write-run-directory.js";
import { planFromAdapter } from "../target/index.js";

/** A checkpoint's split judged by the evaluator. */
export interface EvalEvent {
  type: "eval";
  step: number;
  split: SplitName;
  examples: number;
  metrics: Partial<Record<Metric, number>>;
  /** Generated answers that matched no label. */
  unparsed: number;
}

/** The best checkpoint of a finished run and its gates. */
export interface BestEvent extends BestRecord {
  type: "best";
}

/** What a run reports as it goes: the engine's events and the evaluator's. */
export type RunEvent = TrainEvent | EvalEvent | BestEvent | PublishEvent;

export interface RunOptions extends PrepareOptions, ModelOptions {
  /** Output root (default `adapters`). */
  out?: string;
  /** Replaces the recipe's model.base. */
  model?: string;
  /** Replaces the recipe's engine. */
  engine?: string;
  /** Replaces the recipe's training length with this many optimizer steps. */
  maxSteps?: number;
  /** Move an existing run aside and start over. */
  restart?: boolean;
  /** Resume from this checkpoint folder instead of the latest one. */
  resume?: string;
  /** This machine's node in a multi-node run (else the cluster's environment says). */
  nodeRank?: string;
  /** After every optimizer step, for live progress. */
  onStep?: (progress: StepProgress) => void;
  /** Every engine event, as it happens (also appended to events.jsonl). */
  onEvent?: (event: RunEvent) => void;
  /** Asked after every optimizer step; true saves a checkpoint and stops (Ctrl-C, SIGTERM). */
  shouldStop?: () => boolean;
  /** Called once the data is prepared, before training: the engine, and whether and where the run resumes. */
  onStart?: (start: RunStart) => void;
}

export interface RunStart {
  plan: CompletePlan;
  /** The model folder: local, built-in, or the Hub's copy in the Hugging Face cache. */
  modelDir: string;
  prepared: PreparedData;
  /** The engine that trains, and why: the recipe's choice, or the one that wrote the checkpoint resumed from. */
  engine: EngineChoice;
  /** The checkpoint training continues from, or null for a fresh start. */
  resumeFrom: string | null;
  /** Checkpoints found damaged, incomplete or unfit, skipped. */
  skipped: Array<{ dir: string; why: string }>;
  movedAside: string | null;
  /** Set when the run's lock was left by a process that is gone, and this run took it over. */
  tookOverLock: string | null;
  /** This machine's node, in a multi-node run. */
  node?: ClusterNode | null;
}

export interface RunResult {
  plan: CompletePlan;
  prepared: PreparedData;
  /** Where an existing run was moved by `restart`, if it was. */
  movedAside: string | null;
  /** The engine that trained, and why it was chosen. */
  engine: EngineChoice;
  /** The last checkpoint written. */
  checkpoint: string;
  /** The checkpoint this run continued from, if it resumed. */
  resumedFrom: string | null;
  /** Checkpoints found damaged or incomplete, skipped (never resumed from). */
  skipped: Array<{ dir: string; why: string }>;
  /** True when shouldStop ended the run early; re-running resumes it. */
  stopped: boolean;
  /** The best checkpoint and its gates; null when the run stopped early. */
  selection: Selection | null;
}

/**
 * Runs a recipe: validate, resolve, prepare the data, write the run directory, train, judge
 * every checkpoint, keep the newest and the best, select the best and check its gates.
 * Re-running the same recipe resumes from the newest checkpoint that is complete and sound
 * (damaged, partial or non-finite ones are skipped and reported); a changed recipe or changed
 * data that would make resuming wrong is refused with the differences, unless `restart` moves
 * the old run aside.
 */
export async function runRecipe(file: string, options: RunOptions = {}): Promise<RunResult> {
  const loaded = await loadRecipe(file, { model: options.model, engine: options.engine, maxSteps: options.maxSteps });
  const resolved = await planFromAdapter(loaded, resolvePlan(loaded, { out: options.out }), options.onDownload);
  refuseUnpushable(resolved);
  const choice = await chooseEngine(resolved);
  refuseUnsupported(await engineFor(choice.name), resolved);
  const node = clusterNode(resolved, options.nodeRank, process.env);
  const model = await locateModel(resolved, options);
  refuseUnfitStart(resolved, model.dir);
  // Every node tokenizes the same inputs itself; the worker checks they agree before training.
  const prepared = await prepareData(resolved, model, options);
  if (node && node.rank > 0)
    return await followRun(completePlan(resolved, prepared), model.dir, prepared, choice, node, options);
  let lock: RunLock | null = null;
  let run: OpenRun | null = null;
  try {
    lock = acquireRunLock(resolved.run_dir);
    run = { ...openRun(loaded, completePlan(resolved, prepared), model, prepared, choice, lock, options), node };
    return await trainAndJudge(run, options);
  } catch (error) {
    const lastGood = run?.lastGood ?? null;
    const reported = fileSystemFailure(error, {
      folder: resolved.run_dir,
      doing: "write the run directory",
      intact: lastGood ? `The last complete checkpoint, ${lastGood}, is intact.` : undefined,
      then: "run the same command again to resume (or use --out elsewhere)",
    });
    if (run) recordFailure(resolved.run_dir, (reported as Error).message);
    throw reported;
  } finally {
    lock?.release();
  }
}

/** `model.adapter` must fit the base and the task before training starts from it (a classifier's head included). */
function refuseUnfitStart(plan: RunPlan, modelDir: string): void {
  const start = plan.model.adapter_source;
  const unfit = start && adapterProblem(plan, start.dir, modelDir);
  if (unfit)
    throw TuneError.single(
      {
        code: "recipe-adapter-unfit",
        message: `model.adapter ${plan.model.adapter} cannot be trained on: ${unfit}`,
        location: { file: plan.recipe.file },
        field: "model.adapter",
        hint: "Continue from an adapter trained on this base model for this task (and, for a classifier, these labels).",
      },
      ExitCode.user,
    );
}

interface OpenRun extends RunStart {
  provenance: Record<string, unknown>;
  /** The newest complete checkpoint so far (the one a disk error leaves intact). */
  lastGood: string | null;
}

/**
 * Everything decided before training, under the run's lock: whether and where to resume. A
 * changed recipe or changed data that would make resuming wrong is refused here.
 */
function openRun(
  loaded: LoadedRecipe,
  plan: CompletePlan,
  model: LocatedModel,
  prepared: PreparedData,
  choice: EngineChoice,
  lock: RunLock,
  options: RunOptions,
): OpenRun {
  let movedAside: string | null = null;
  if (options.restart) {
    movedAside = moveRunAside(plan.run_dir);
    // The lock went along with the old run, which is finished with; the new run is held from here on.
    if (movedAside) {
      rmSync(join(movedAside, LOCK_FILE), { force: true });
      Object.assign(lock, acquireRunLock(plan.run_dir));
    }
  }
  removeLeftovers(plan.run_dir);
  const modelDir = model.dir;
  const provenance = {
    recipe_sha256: sha256(loaded.sourceText),
    plan_sha256: planSha256(plan),
    dataset_key: prepared.key,
    // Hub datasets by the commit their revision resolved to: a branch that moves is a new dataset.
    datasets: prepared.datasets.map(({ role, repo, revision, commit }) => ({ role, repo, revision, commit })),
    tokenizer_sha256: Object.values(prepared.splits)[0]?.manifest.hashes.tokenizer ?? null,
    tune_version: TUNE_VERSION,
  };
  // A changed recipe is refused before the checkpoints are judged against it, which would
  // otherwise find them all unfit and silently start over.
  if (checkpointSteps(plan.run_dir).length > 0 || options.resume !== undefined) refuseChangedPlan(plan);
  const { valid, invalid } = soundCheckpoints(plan, modelDir);
  let resumeFrom: string | null = valid[0]?.dir ?? null;
  if (options.resume !== undefined) resumeFrom = checkedResume(plan, resolve(options.resume), modelDir);
  if (resumeFrom) refuseChangedData(resumeFrom, provenance.dataset_key, provenance.datasets);
  const engine = resumeFrom ? engineForResume(choice, plan, resumeFrom) : choice;
  writeRunDirectory(plan, loaded);
  return {
    plan,
    modelDir,
    prepared,
    engine,
    resumeFrom,
    skipped: invalid,
    movedAside,
    tookOverLock: lock.tookOver,
    provenance,
    lastGood: resumeFrom,
  };
}

/** `--resume` names a complete, sound checkpoint-<step> folder of this very run, nothing else. */
function checkedResume(plan: RunPlan, folder: string, modelDir: string): string {
  const refuse = (why: string) =>
    TuneError.single({
      code: "checkpoint-invalid",
      message: `cannot resume from ${folder}: ${why}`,
      location: { file: "--resume" },
      hint: `Pass a complete checkpoint-<step> folder of this run (${plan.run_dir}); \`tune runs\` lists them.`,
    });
  if (dirname(folder) !== plan.run_dir || !/^checkpoint-\d+$/.test(basename(folder)))
    throw refuse(`it is not a checkpoint-<step> folder of ${plan.run_dir}`);
  const why = checkpointProblem(folder) ?? adapterProblem(plan, folder, modelDir);
  if (why) throw refuse(why);
  return folder;
}

/** Trains, judges each checkpoint as it is written, then picks the best and checks its gates. */
async function trainAndJudge(run: OpenRun, options: RunOptions): Promise<RunResult> {
  const { plan, prepared, resumeFrom } = run;
  options.onStart?.(run);
  const emit = (event: RunEvent) => {
    appendEvent(plan.run_dir, event);
    options.onEvent?.(event);
  };
  const judge = (checkpoint: string, step: number, split: SplitName, predictions: string) => {
    const { examples, metrics, unparsed } = evaluateCheckpointSplit(plan, checkpoint, split, predictions);
    emit({ type: "eval", step, split, examples, metrics, unparsed });
  };
  const engine = await engineFor(run.engine.name);
  const pusher = checkpointPusher(plan, emit);
  const result =
    plan.task === "prompting"
      ? await promptingCheckpoint(run, emit)
      : await engine.train(plan, run.modelDir, prepared, {
          resumeFrom: resumeFrom ?? undefined,
          node: run.node ?? undefined,
          shouldStop: options.shouldStop,
          onStep: options.onStep,
          provenance: run.provenance,
          emit: (event) => {
            emit(event);
            if (event.type === "checkpoint") {
              run.lastGood = event.dir;
              retain(plan);
              pusher.saved(event.dir);
            }
            if (event.type === "predictions") judge(event.checkpoint, event.step, event.split, event.file);
          },
        });
  await pusher.drain();
  // A stop asked for after the last step still stops here: its checkpoint is saved, and judging
  // the rest, picking the best and publishing wait for the re-run rather than pushing to the Hub
  // after the user pressed Ctrl-C.
  const stopped = result.stopped || options.shouldStop?.() === true;
  if (stopped && !result.stopped) emit({ type: "stopped", step: result.step, checkpoint: result.checkpoint });
  const finished = {
    plan,
    prepared,
    movedAside: run.movedAside,
    engine: run.engine,
    checkpoint: result.checkpoint,
    resumedFrom: resumeFrom,
    skipped: run.skipped,
    stopped,
  };
  if (stopped) return { ...finished, selection: null };
  // Hashed once: every complete checkpoint, judged now if a killed run never judged it (so a
  // resumed run ends as an uninterrupted one), then ranked.
  const complete = findCheckpoints(plan.run_dir).valid;
  for (const { dir, step } of complete) {
    const judged = checkpointMetrics(dir, step).splits;
    const missing = plan.eval.splits.filter((split) => prepared.splits[split] && !judged[split]);
    if (missing.length === 0) continue;
    const written = await predictWithEngine(plan, run.modelDir, prepared, dir, missing, dir);
    for (const { split, file } of written) judge(dir, step, split, file);
  }
  const selection = selectBest(
    complete.map(({ dir, step }) => checkpointMetrics(dir, step)),
    plan.eval,
  );
  writeBestRecord(plan.run_dir, bestRecord(selection));
  retain(plan, selection.best?.dir ?? null);
  emit({ type: "best", ...bestRecord(selection) });
  writeFileAtomic(join(plan.run_dir, "report.html"), runReportHtml(loadRunReport(plan.run_dir)));
  await publishRun(plan, selection, complete[0]?.dir ?? null, emit);
  return { ...finished, selection };
}

/** A prompting run's one checkpoint, the base model, written once (re-runs find it). */
async function promptingCheckpoint(run: OpenRun, emit: (event: RunEvent) => void): Promise<TrainResult> {
  const checkpoint = baseCheckpoint(run.plan, run.modelDir, run.engine.name, run.provenance);
  emit({ type: "checkpoint", step: 0, dir: checkpoint });
  return { checkpoint, step: 0, stopped: false };
}

/** What the chosen engine cannot do is refused before any data is read. */
function refuseUnsupported(engine: Engine, plan: RunPlan): void {
  // The plan is not complete yet; what an engine refuses depends only on the recipe's fields.
  const why = engine.refuses(plan);
  if (!why) return;
  throw TuneError.single(
    {
      code: `${engine.name}-unsupported`,
      message: `the ${engine.name} engine cannot run this recipe: ${why}`,
      location: { file: plan.recipe.file },
      hint: engine.name === "tfjs" ? "Use engine: torch, or change the recipe." : "Change the recipe.",
    },
    ExitCode.user,
  );
}

/**
 * Keeps the newest `checkpoints.keep` checkpoints and, with keep_best, the best so far. During
 * training the folders are ranked by their metrics alone, without re-hashing every checkpoint
 * at each save; the final ranking passes `best`, chosen among verified ones.
 */
function retain(plan: RunPlan, best?: string | null): void {
  const ranked = () =>
    selectBest(
      checkpointSteps(plan.run_dir).map((step) => checkpointMetrics(join(plan.run_dir, `checkpoint-${step}`), step)),
      plan.eval,
    ).best?.dir ?? null;
  const protect = !plan.checkpoints.keep_best ? null : best === undefined ? ranked() : best;
  retainCheckpoints(plan.run_dir, plan.checkpoints.keep, protect);
}

/**
 * The data changed since the checkpoint was written (same recipe, new content, or a Hub
 * dataset's branch that moved to another commit): resuming would mix datasets. A moved branch
 * is named, with the commit to pin to resume on the data the checkpoint was trained on.
 */
function refuseChangedData(
  checkpoint: string,
  datasetKey: string,
  datasets: ReadonlyArray<{ role: string; repo: string; revision: string; commit: string }>,
): void {
  const provenance = manifestProvenance(checkpoint);
  const before = provenance?.dataset_key;
  if (typeof before !== "string" || before === datasetKey) return;
  const recorded = Array.isArray(provenance?.datasets) ? (provenance.datasets as typeof datasets) : [];
  const moved = datasets.flatMap((now) => {
    const then = recorded.find((r) => r.role === now.role && r.repo === now.repo);
    return then && then.commit !== now.commit
      ? [`${now.repo} at revision ${now.revision} was commit ${then.commit} then and is ${now.commit} now`]
      : [];
  });
  throw TuneError.single({
    code: "resume-data-changed",
    message: `the data changed since ${checkpoint} was written (dataset ${before.slice(0, 12)} then, ${datasetKey.slice(0, 12)} now${moved.length > 0 ? `: ${moved.join("; ")}` : ""}), so resuming would train on two datasets`,
    location: { file: join(checkpoint, MANIFEST) },
    hint:
      moved.length > 0
        ? "Set the dataset's `revision` to the commit the checkpoint was trained on to resume, or pass --restart to move the old run aside and start over."
        : "Restore the data files to resume, or pass --restart to move the old run aside and start over.",
  });
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function refuseChangedPlan(plan: RunPlan): void {
  const file = join(plan.run_dir, "plan.json");
  const previous = readRunPlan(plan.run_dir);
  if (!previous) return;
  const [before, after] = [resumeRelevant(previous), resumeRelevant(plan)];
  const differences = RESUME_FIELDS.flatMap((field) => diffPaths(before[field], after[field], field));
  if (differences.length > 0) {
    throw TuneError.single({
      code: "resume-plan-changed",
      message: `the recipe changed since ${plan.run_dir} was started, so resuming would mix two experiments: ${differences.slice(0, 8).join("; ")}${differences.length > 8 ? `; and ${differences.length - 8} more` : ""}`,
      location: { file },
      hint: [
        processCountHint(previous, plan),
        "Undo the change to resume, or pass --restart to move the old run aside and start over.",
      ]
        .filter(Boolean)
        .join(" "),
    });
  }
}

function diffPaths(before: unknown, after: unknown, path: string): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (before && after && typeof before === "object" && typeof after === "object" && !Array.isArray(before)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((key) =>
      diffPaths((before as Record<string, unknown>)[key], (after as Record<string, unknown>)[key], `${path}.${key}`),
    );
  }
  return [`${path}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`];
}
