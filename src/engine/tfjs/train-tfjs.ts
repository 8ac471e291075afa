import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { openSafetensors, writePeftAdapter, writeSafetensors } from "../../adapter/index.js";
import { trainerState, writeManifest } from "../../checkpoint/index.js";
import { replaceFolder, temporaryFolderFor, writeFileAtomic } from "../../files/index.js";
import { loadTokenizer, readDatasetSplit, type PreparedData } from "../../data/index.js";
import type { CompletePlan, SplitName } from "../../recipe/index.js";
import type { TrainOptions, TrainResult } from "../engine.js";
import { TUNE_VERSION } from "../../version.js";
import { adamwStep, clipByGlobalNorm, type AdamWState } from "./adamw.js";
import { selectBackend, type TfjsBackend } from "./backend.js";
import { epochBatches, padBatch } from "../batches.js";
import { adaptedModel, restoreAdapter, unsupported, type AdaptedModel } from "./adapted-model.js";
import { classLossSum, tokenLossSums, trainedTokens } from "./losses.js";
import type { Lora } from "./lora.js";
import { predictSplit } from "./predict-tfjs.js";
import { learningRate } from "../schedule.js";

export interface TfjsTrainOptions extends TrainOptions {
  backend?: TfjsBackend;
}

/**
 * The tfjs engine's whole training run, readable top to bottom: model and LoRA, then for each
 * optimizer step the accumulated gradients of its micro-batches (the loss normalised over every
 * example or trained token of the whole step, so accumulation equals one large batch),
 * clipping, the schedule and AdamW; at each checkpoint boundary a PEFT checkpoint, then
 * predictions on the evaluation splits.
 */
export async function trainTfjs(
  plan: CompletePlan,
  modelDir: string,
  prepared: PreparedData,
  options: TfjsTrainOptions,
): Promise<TrainResult> {
  const backend = await selectBackend(options.backend);
  const adapted = adaptedModel(plan, modelDir);
  const optimizer: AdamWState = { step: 0, m: new Map(), v: new Map() };
  // Freed on every way out (end, Ctrl-C, a failed write), so a caller can train again in-process.
  try {
    return await trainLoop(plan, modelDir, prepared, options, backend, adapted, optimizer);
  } finally {
    adapted.dispose();
    tf.dispose([...optimizer.m.values(), ...optimizer.v.values()]);
  }
}

async function trainLoop(
  plan: CompletePlan,
  modelDir: string,
  prepared: PreparedData,
  options: TfjsTrainOptions,
  backend: TfjsBackend,
  adapted: AdaptedModel,
  optimizer: AdamWState,
): Promise<TrainResult> {
  const { model, lora, head, classify } = adapted;
  const variables = [...lora.variables(), ...head.values()];
  const train = readDatasetSplit(requireSplit(prepared, "train"));
  const baseModelPath = plan.model.source.kind === "hub" ? plan.model.source.id : modelDir;
  const tokenizer = loadTokenizer(modelDir);

  const { batch_size: batchSize, gradient_accumulation: accumulation } = plan.training;
  const {
    total_steps: total,
    warmup_steps: warmup,
    steps_per_epoch: stepsPerEpoch,
    checkpoint_every: checkpointEvery,
  } = plan.schedule;
  options.emit({
    type: "start",
    engine: "tfjs",
    backend,
    total_steps: total,
    trainable_parameters: variables.reduce((n, v) => n + v.size, 0),
  });

  let logHistory: Array<Record<string, number>> = [];
  let lastCheckpoint = "";
  let step = 0;
  if (options.resumeFrom) {
    restoreAdapter(options.resumeFrom, adapted);
    step = restoreOptimizer(options.resumeFrom, optimizer);
    logHistory = (
      JSON.parse(readFileSync(join(options.resumeFrom, "trainer_state.json"), "utf8")) as {
        log_history: typeof logHistory;
      }
    ).log_history;
    lastCheckpoint = options.resumeFrom;
    options.emit({ type: "resume", step, checkpoint: options.resumeFrom });
  } else if (plan.model.adapter_source) restoreAdapter(plan.model.adapter_source.dir, adapted);
  // Each optimizer step consumes one group of micro-batches, so a resumed run skips exactly
  // `step` groups of the same seeded epochs: the data position needs no state of its own.
  let consumed = 0;
  for (let epoch = 0; step < total; epoch++) {
    const batches = epochBatches(
      train,
      batchSize,
      plan.training.seed,
      epoch,
      plan.training.group_by_length,
      accumulation,
    );
    for (let first = 0; first < batches.length && step < total; first += accumulation) {
      if (consumed++ < step) continue;
      const started = performance.now();
      const group = batches
        .slice(first, first + accumulation)
        .map((indices) => padBatch(train, indices, model.padTokenId));
      const lr = learningRate(step, total, warmup, plan.training.lr, plan.training.scheduler);
      const { loss, gradNorm } = accumulatedGradients(plan, adapted, group, step, (grads) =>
        adamwStep(variables, grads, optimizer, lr, plan.training.weight_decay),
      );
      step++;
      const epochProgress = epoch + Math.min(1, (first + accumulation) / batches.length);
      const tokens = group.reduce((n, b) => n + b.mask.flat().reduce((a, m) => a + m, 0), 0);
      options.onStep?.({
        step,
        total,
        epoch,
        stepInEpoch: Math.ceil((first + accumulation) / accumulation),
        stepsPerEpoch,
        loss,
        lr,
        tokensPerSecond: tokens / ((performance.now() - started) / 1000),
      });
      if (step % plan.training.logging_steps === 0 || step === total) {
        const event = {
          type: "step" as const,
          step,
          epoch: round(epochProgress),
          loss,
          lr,
          grad_norm: gradNorm,
          tokens_per_s: Math.round(tokens / ((performance.now() - started) / 1000)),
          memory_mb: Math.round(tf.memory().numBytes / 1e6),
          tensors: tf.memory().numTensors,
        };
        logHistory.push({ loss, grad_norm: gradNorm, learning_rate: lr, epoch: event.epoch, step });
        options.emit(event);
      }
      // Let signals, output and timers run between steps: the step itself is synchronous.
      await new Promise((resolve) => setImmediate(resolve));
      const stopping = step < total && options.shouldStop?.() === true;
      if (step % checkpointEvery === 0 || step === total || stopping) {
        lastCheckpoint = writeCheckpoint(
          plan,
          baseModelPath,
          step,
          round(epochProgress),
          lora,
          head,
          optimizer,
          logHistory,
          { ...options.provenance, engine: { name: "tfjs", backend, tfjs: tf.version_core } },
        );
        options.emit({ type: "checkpoint", step, dir: lastCheckpoint });
        if (!stopping) predictEvalSplits(lastCheckpoint, step);
      }
      if (stopping) {
        options.emit({ type: "stopped", step, checkpoint: lastCheckpoint });
        return { checkpoint: lastCheckpoint, step, stopped: true };
      }
    }
  }
  options.emit({ type: "end", step, checkpoint: lastCheckpoint });
  return { checkpoint: lastCheckpoint, step, stopped: false };

  /** Predictions of every evaluation split for the checkpoint just written (contract 5). */
  function predictEvalSplits(checkpoint: string, atStep: number): void {
    for (const split of plan.eval.splits) {
      const dir = prepared.splits[split]?.dir;
      if (!dir) continue;
      const file = join(checkpoint, "predictions", `${split}.jsonl`);
      const summary = predictSplit(
        { model, adapt: lora.adapter(null), head: classify ? head : null, plan, tokenizer },
        readDatasetSplit(dir),
        file,
      );
      options.emit({ type: "predictions", step: atStep, checkpoint, split, file, ...summary });
    }
  }
}

/**
 * One optimizer step's gradients: each micro-batch's loss is divided by the units (examples,
 * or trained tokens) of the whole group, so the summed gradients equal one large batch's; then
 * global-norm clipping and `apply`. Returns the group's loss and the pre-clipping norm.
 */
function accumulatedGradients(
  plan: CompletePlan,
  adapted: AdaptedModel,
  group: ReturnType<typeof padBatch>[],
  step: number,
  apply: (grads: Record<string, tf.Tensor>) => void,
): { loss: number; gradNorm: number } {
  const { model, lora, head, classify } = adapted;
  const variables = [...lora.variables(), ...head.values()];
  const classes = plan.data.labels?.length ?? 0;
  const units = group.reduce(
    (n, b) => n + (b.labels ? b.labels.reduce((k, row) => k + trainedTokens(row), 0) : b.ids.length),
    0,
  );
  const grads: Record<string, tf.Tensor> = {};
  let loss = 0;
  group.forEach((batch, micro) => {
    const embeddings = tf.tidy(() => model.embed(tf.tensor2d(batch.ids, undefined, "int32")));
    const dropoutSeed = plan.training.seed * 7919 + step * 131 + micro * 17;
    const forward = { adapt: lora.adapter(dropoutSeed), dropoutSeed };
    const { value, grads: microGrads } = tf.variableGrads(() => {
      const hidden = model.hidden(embeddings, tf.tensor2d(batch.mask), forward);
      const sum = classify
        ? classLossSum(model, hidden, batch.ids, head, batch.classIds, classes, forward)
        : tf.sum(tokenLossSums(model, hidden, batch.labels ?? []));
      return tf.div(sum, units) as tf.Scalar;
    }, variables);
    loss += value.dataSync()[0] as number;
    tf.dispose([value, embeddings]);
    for (const [name, grad] of Object.entries(microGrads)) {
      const previous = grads[name];
      grads[name] = previous ? tf.add(previous, grad) : grad;
      if (previous) tf.dispose([previous, grad]);
    }
  });
  const gradNorm = clipByGlobalNorm(grads, plan.training.max_grad_norm);
  apply(grads);
  tf.dispose(Object.values(grads));
  return { loss, gradNorm };
}

/** Loads the AdamW moments written by writeCheckpoint; returns the step they belong to. */
function restoreOptimizer(dir: string, optimizer: AdamWState): number {
  const state = openSafetensors(join(dir, "optimizer.safetensors"));
  try {
    for (const name of state.tensors.keys()) {
      const [moment, ...rest] = name.split(".");
      const info = state.tensors.get(name);
      (moment === "m" ? optimizer.m : optimizer.v).set(
        rest.join("."),
        tf.tensor(state.readFloat32(name).slice(), info?.shape),
      );
    }
    optimizer.step = Number(state.metadata.step);
    return optimizer.step;
  } finally {
    state.close();
  }
}

/** checkpoint-<step>/: PEFT adapter, trainer_state.json, then MANIFEST.json last. */
function writeCheckpoint(
  plan: CompletePlan,
  baseModelPath: string,
  step: number,
  epoch: number,
  lora: Lora,
  head: ReadonlyMap<string, tf.Variable>,
  optimizer: AdamWState,
  logHistory: Array<Record<string, number>>,
  provenance: Record<string, unknown>,
): string {
  const final = join(plan.run_dir, `checkpoint-${step}`);
  // Built under a temporary name and renamed into place: a reader sees all of it or none.
  const dir = temporaryFolderFor(final);
  writePeftAdapter(
    dir,
    plan,
    {
      lora: lora.modules.map((m) => ({
        module: m.module,
        a: m.a.dataSync() as Float32Array,
        aShape: m.a.shape as [number, number],
        b: m.b.dataSync() as Float32Array,
        bShape: m.b.shape as [number, number],
      })),
      saved: [...head].map(([name, variable]) => ({
        name,
        data: variable.dataSync() as Float32Array,
        shape: variable.shape,
      })),
    },
    baseModelPath,
  );
  // AdamW moments as safetensors (engine-specific; torch writes optimizer.pt), step in metadata.
  writeSafetensors(
    join(dir, "optimizer.safetensors"),
    [...optimizer.m.keys()].flatMap((name) =>
      (["m", "v"] as const).map((moment) => {
        const tensor = (moment === "m" ? optimizer.m : optimizer.v).get(name) as tf.Tensor;
        return {
          name: `${moment}.${name}`,
          dtype: "F32" as const,
          shape: tensor.shape,
          data: tensor.dataSync() as Float32Array,
        };
      }),
    ),
    { format: "pt", step: String(optimizer.step) },
  );
  writeFileAtomic(
    join(dir, "trainer_state.json"),
    `${JSON.stringify(trainerState(plan, step, epoch, logHistory), null, 2)}\n`,
  );
  writeManifest(dir, { tune_version: TUNE_VERSION, step, provenance });
  replaceFolder(dir, final);
  return final;
}

function requireSplit(prepared: PreparedData, split: SplitName): string {
  const dir = prepared.splits[split]?.dir;
  if (!dir) throw unsupported(`the data has no ${split} split`);
  return dir;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
