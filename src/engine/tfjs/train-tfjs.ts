import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { openSafetensors, writePeftAdapter, writeSafetensors } from "../../adapter/index.js";
import { checkpointSteps, writeFileAtomic, writeManifest } from "../../checkpoint/index.js";
import { readDatasetSplit, type PreparedData, type TokenizedSplit } from "../../data/index.js";
import { ExitCode, TuneError } from "../../errors/index.js";
import type { RunPlan, SplitName } from "../../recipe/index.js";
import { TUNE_VERSION } from "../../version.js";
import { adamwStep, clipByGlobalNorm, type AdamWState } from "./adamw.js";
import { selectBackend, type TfjsBackend } from "./backend.js";
import { epochBatches, padBatch } from "./batches.js";
import { readLlamaConfig } from "./llama-config.js";
import { loadLlamaModel, type LlamaModel } from "./llama-model.js";
import { createLora, type Lora } from "./lora.js";
import { learningRate } from "./schedule.js";
import { seededNormal } from "../../builtin/index.js";

export type TrainEvent =
  | { type: "start"; engine: "tfjs"; backend: TfjsBackend; total_steps: number; trainable_parameters: number }
  | { type: "step"; step: number; epoch: number; loss: number; lr: number; grad_norm: number; tokens_per_s: number; memory_mb: number; tensors: number }
  | { type: "checkpoint"; step: number; dir: string }
  | { type: "eval"; step: number; split: SplitName; accuracy: number; examples: number }
  | { type: "resume"; step: number; checkpoint: string }
  | { type: "stopped"; step: number; checkpoint: string }
  | { type: "end"; step: number; checkpoint: string };

export interface TrainOptions {
  backend?: TfjsBackend;
  emit: (event: TrainEvent) => void;
  /** A complete checkpoint of this run to continue from, exactly where it stopped. */
  resumeFrom?: string;
  /** Asked after every optimizer step; true saves a checkpoint there and returns (Ctrl-C). */
  shouldStop?: () => boolean;
}

export interface TrainResult {
  checkpoint: string;
  step: number;
  /** True when shouldStop ended the run before its last step. */
  stopped: boolean;
}

const OPTIMIZERS = new Set(["adamw", "paged_adamw_32bit"]);

/**
 * The tfjs engine's whole training run, readable top to bottom: model and LoRA, then for each
 * optimizer step the accumulated gradients of its micro-batches (the loss normalised over every
 * example or trained token of the whole step, so accumulation equals one large batch),
 * clipping, the schedule and AdamW; a PEFT checkpoint at each checkpoint boundary; predictions
 * on the evaluation splits at the end.
 */
export async function trainTfjs(plan: RunPlan, prepared: PreparedData, options: TrainOptions): Promise<TrainResult> {
  if (plan.task === "prompting") throw unsupported("task prompting trains nothing");
  if (plan.quantization) throw unsupported("quantized base models need the torch engine");
  if (!OPTIMIZERS.has(plan.training.optimizer)) throw unsupported(`optimizer ${plan.training.optimizer} is not available on the tfjs engine (adamw is)`);
  const extraModules = plan.lora.modules_to_save.filter((name) => name !== "score" && name !== "classifier");
  if (extraModules.length > 0) throw unsupported(`lora.modules_to_save ${extraModules.join(", ")} (only the classification head is trained in full)`);
  const backend = await selectBackend(options.backend);
  // LoRA first: it refuses unsupported settings before any weight is loaded.
  const lora = createLora(readLlamaConfig(prepared.tokenizerDir), plan.lora, plan.training.seed);
  const model = loadLlamaModel(prepared.tokenizerDir);
  const labels = plan.data.labels ?? [];
  const classify = plan.task === "sequence-classification";
  const score = classify ? tf.variable(tf.tensor2d(seededNormal(labels.length * model.config.hiddenSize, 0.02, plan.training.seed + 1), [labels.length, model.config.hiddenSize]), true, "score.weight") : null;
  const variables = [...lora.variables(), ...(score ? [score] : [])];
  const train = readDatasetSplit(requireSplit(prepared, "train"));
  const padId = model.config.padTokenId ?? 0;
  const baseModelPath = plan.model.source.kind === "hub" ? plan.model.source.id : prepared.tokenizerDir;

  const { batch_size: batchSize, gradient_accumulation: accumulation } = plan.training;
  const batchesPerEpoch = Math.ceil(train.manifest.count / batchSize);
  const stepsPerEpoch = Math.ceil(batchesPerEpoch / accumulation);
  const total = plan.training.max_steps ?? Math.ceil((plan.training.epochs ?? 1) * stepsPerEpoch);
  const warmup = plan.training.warmup_steps ?? Math.ceil((plan.training.warmup_ratio ?? 0) * total);
  const checkpointEvery = plan.checkpoints.every === "epoch" ? stepsPerEpoch : plan.checkpoints.every;
  options.emit({ type: "start", engine: "tfjs", backend, total_steps: total, trainable_parameters: variables.reduce((n, v) => n + v.size, 0) });

  const optimizer: AdamWState = { step: 0, m: new Map(), v: new Map() };
  let logHistory: Array<Record<string, number>> = [];
  let lastCheckpoint = "";
  let step = 0;
  if (options.resumeFrom) {
    step = restoreCheckpoint(options.resumeFrom, lora, score, optimizer);
    logHistory = (JSON.parse(readFileSync(join(options.resumeFrom, "trainer_state.json"), "utf8")) as { log_history: typeof logHistory }).log_history;
    lastCheckpoint = options.resumeFrom;
    options.emit({ type: "resume", step, checkpoint: options.resumeFrom });
  }
  // Each optimizer step consumes one group of micro-batches, so a resumed run skips exactly
  // `step` groups of the same seeded epochs: the data position needs no state of its own.
  let consumed = 0;
  for (let epoch = 0; step < total; epoch++) {
    const batches = epochBatches(train, batchSize, plan.training.seed, epoch, plan.training.group_by_length);
    for (let first = 0; first < batches.length && step < total; first += accumulation) {
      if (consumed++ < step) continue;
      const started = performance.now();
      const group = batches.slice(first, first + accumulation).map((indices) => padBatch(train, indices, padId));
      const units = group.reduce((n, b) => n + (b.labels ? trainedTokens(b.labels) : b.ids.length), 0);
      const grads: Record<string, tf.Tensor> = {};
      let lossSum = 0;
      group.forEach((batch, micro) => {
        const embeddings = tf.tidy(() => model.embed(tf.tensor2d(batch.ids, undefined, "int32")));
        const { value, grads: microGrads } = tf.variableGrads(() => {
          const hidden = model.hidden(embeddings, tf.tensor2d(batch.mask), lora.adapter(plan.training.seed * 7919 + step * 131 + micro * 17));
          const sum = score ? classSum(model, hidden, batch.ids, score, batch.classIds, labels.length) : tokenSum(model, hidden, batch.labels ?? []);
          return tf.div(sum, units) as tf.Scalar;
        }, variables);
        lossSum += value.dataSync()[0] as number;
        tf.dispose([value, embeddings]);
        for (const [name, grad] of Object.entries(microGrads)) {
          const previous = grads[name];
          grads[name] = previous ? tf.add(previous, grad) : grad;
          if (previous) tf.dispose([previous, grad]);
        }
      });
      const gradNorm = clipByGlobalNorm(grads, plan.training.max_grad_norm);
      const lr = learningRate(step, total, warmup, plan.training.lr, plan.training.scheduler);
      adamwStep(variables, grads, optimizer, lr, plan.training.weight_decay);
      tf.dispose(Object.values(grads));
      step++;
      const epochProgress = epoch + Math.min(1, (first + accumulation) / batches.length);
      const tokens = group.reduce((n, b) => n + b.mask.flat().reduce((a, m) => a + m, 0), 0);
      if (step % plan.training.logging_steps === 0 || step === total) {
        const event = { type: "step" as const, step, epoch: round(epochProgress), loss: lossSum, lr, grad_norm: gradNorm, tokens_per_s: Math.round(tokens / ((performance.now() - started) / 1000)), memory_mb: Math.round(tf.memory().numBytes / 1e6), tensors: tf.memory().numTensors };
        logHistory.push({ loss: lossSum, grad_norm: gradNorm, learning_rate: lr, epoch: event.epoch, step });
        options.emit(event);
      }
      // Let signals, output and timers run between steps: the step itself is synchronous.
      await new Promise((resolve) => setImmediate(resolve));
      const stopping = step < total && options.shouldStop?.() === true;
      if (step % checkpointEvery === 0 || step === total || stopping) {
        lastCheckpoint = writeCheckpoint(plan, baseModelPath, step, round(epochProgress), total, lora, score, optimizer, logHistory);
        options.emit({ type: "checkpoint", step, dir: lastCheckpoint });
      }
      if (stopping) {
        options.emit({ type: "stopped", step, checkpoint: lastCheckpoint });
        dispose();
        return { checkpoint: lastCheckpoint, step, stopped: true };
      }
    }
  }
  if (score) {
    for (const split of plan.eval.splits) {
      const dir = prepared.splits[split]?.dir;
      if (!dir) continue;
      const result = predictClasses(model, lora, score, readDatasetSplit(dir), plan, padId, join(lastCheckpoint, "predictions", `${split}.jsonl`));
      options.emit({ type: "eval", step, split, ...result });
    }
  }
  options.emit({ type: "end", step, checkpoint: lastCheckpoint });
  dispose();
  return { checkpoint: lastCheckpoint, step, stopped: false };

  function dispose(): void {
    lora.dispose();
    score?.dispose();
    model.dispose();
    tf.dispose([...optimizer.m.values(), ...optimizer.v.values()]);
  }
}

/** Loads adapter weights and optimizer state written by writeCheckpoint; returns the step. */
function restoreCheckpoint(dir: string, lora: Lora, score: tf.Variable | null, optimizer: AdamWState): number {
  const adapter = openSafetensors(join(dir, "adapter_model.safetensors"));
  const state = openSafetensors(join(dir, "optimizer.safetensors"));
  try {
    const assign = (variable: tf.Variable, name: string) => variable.assign(tf.tensor(adapter.readFloat32(name).slice(), variable.shape));
    for (const m of lora.modules) {
      assign(m.a, `base_model.model.${m.module}.lora_A.weight`);
      assign(m.b, `base_model.model.${m.module}.lora_B.weight`);
    }
    if (score) assign(score, "base_model.model.score.weight");
    for (const name of state.tensors.keys()) {
      const [moment, ...rest] = name.split(".");
      const info = state.tensors.get(name);
      (moment === "m" ? optimizer.m : optimizer.v).set(rest.join("."), tf.tensor(state.readFloat32(name).slice(), info?.shape));
    }
    optimizer.step = Number(state.metadata.step);
    return Number(state.metadata.step);
  } finally {
    adapter.close();
    state.close();
  }
}

/** Sum over the micro-batch of -log p(gold class). */
function classSum(model: LlamaModel, hidden: tf.Tensor3D, ids: number[][], score: tf.Variable, classIds: number[], classes: number): tf.Scalar {
  const logits = model.classLogits(hidden, ids, score as tf.Tensor2D);
  return tf.neg(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(classIds, "int32"), classes), tf.logSoftmax(logits)))) as tf.Scalar;
}

/** Sum over trained tokens of -log p(next token); labels shifted here, in plain arrays. */
function tokenSum(model: LlamaModel, hidden: tf.Tensor3D, labels: number[][]): tf.Scalar {
  const logits = model.lmLogits(hidden);
  const [batch, time, vocab] = logits.shape;
  const targets = labels.flatMap((row) => row.map((_, t) => row[t + 1] ?? -100));
  const weights = tf.tensor1d(targets.map((t) => (t === -100 ? 0 : 1)));
  const oneHot = tf.oneHot(tf.tensor1d(targets.map((t) => Math.max(t, 0)), "int32"), vocab);
  const picked = tf.sum(tf.mul(oneHot, tf.logSoftmax(tf.reshape(logits, [batch * time, vocab]))), 1);
  return tf.neg(tf.sum(tf.mul(picked, weights))) as tf.Scalar;
}

function trainedTokens(labels: number[][]): number {
  return labels.reduce((n, row) => n + row.slice(1).filter((l) => l !== -100).length, 0);
}

/** Class probabilities for every example of a split, written as predictions (contract 5). */
function predictClasses(model: LlamaModel, lora: Lora, score: tf.Variable, split: TokenizedSplit, plan: RunPlan, padId: number, file: string): { accuracy: number; examples: number } {
  const labels = plan.data.labels ?? [];
  const lines: string[] = [];
  let correct = 0;
  for (let start = 0; start < split.manifest.count; start += plan.training.eval_batch_size) {
    const indices = Array.from({ length: Math.min(plan.training.eval_batch_size, split.manifest.count - start) }, (_, i) => start + i);
    const batch = padBatch(split, indices, padId);
    const probabilities = tf.tidy(() => tf.softmax(model.classLogits(model.hidden(model.embed(tf.tensor2d(batch.ids, undefined, "int32")), tf.tensor2d(batch.mask), lora.adapter(null)), batch.ids, score as tf.Tensor2D)).arraySync() as number[][]);
    probabilities.forEach((probs, row) => {
      const predicted = probs.indexOf(Math.max(...probs));
      const gold = batch.classIds[row] as number;
      if (predicted === gold) correct++;
      lines.push(JSON.stringify({ id: split.exampleIds[indices[row] as number], gold: labels[gold], pred: labels[predicted], probs: Object.fromEntries(labels.map((l, i) => [l, probs[i]])) }));
    });
  }
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, `${lines.join("\n")}\n`);
  return { accuracy: correct / Math.max(1, split.manifest.count), examples: split.manifest.count };
}

/** checkpoint-<step>/: PEFT adapter, trainer_state.json, then MANIFEST.json last. */
function writeCheckpoint(plan: RunPlan, baseModelPath: string, step: number, epoch: number, total: number, lora: Lora, score: tf.Variable | null, optimizer: AdamWState, logHistory: Array<Record<string, number>>): string {
  const dir = join(plan.run_dir, `checkpoint-${step}`);
  rmSync(dir, { recursive: true, force: true });
  writePeftAdapter(dir, plan, {
    lora: lora.modules.map((m) => ({ module: m.module, a: m.a.dataSync() as Float32Array, aShape: m.a.shape as [number, number], b: m.b.dataSync() as Float32Array, bShape: m.b.shape as [number, number] })),
    saved: score ? [{ name: "score.weight", data: score.dataSync() as Float32Array, shape: score.shape }] : [],
  }, baseModelPath);
  const state = {
    best_global_step: null,
    best_metric: null,
    best_model_checkpoint: null,
    epoch,
    eval_steps: null,
    global_step: step,
    is_hyper_param_search: false,
    is_local_process_zero: true,
    is_world_process_zero: true,
    log_history: logHistory,
    logging_steps: plan.training.logging_steps,
    max_steps: total,
    num_input_tokens_seen: 0,
    num_train_epochs: plan.training.epochs ?? 0,
    save_steps: plan.checkpoints.every === "epoch" ? 0 : plan.checkpoints.every,
    stateful_callbacks: {},
    total_flos: 0,
    train_batch_size: plan.training.batch_size,
    trial_name: null,
    trial_params: null,
  };
  // AdamW moments as safetensors (engine-specific; torch writes optimizer.pt), step in metadata.
  writeSafetensors(
    join(dir, "optimizer.safetensors"),
    [...optimizer.m.keys()].flatMap((name) => (["m", "v"] as const).map((moment) => {
      const tensor = (moment === "m" ? optimizer.m : optimizer.v).get(name) as tf.Tensor;
      return { name: `${moment}.${name}`, dtype: "F32" as const, shape: tensor.shape, data: tensor.dataSync() as Float32Array };
    })),
    { format: "pt", step: String(optimizer.step) },
  );
  writeFileAtomic(join(dir, "trainer_state.json"), `${JSON.stringify(state, null, 2)}\n`);
  writeManifest(dir, { engine: "tfjs", tune_version: TUNE_VERSION, step });
  pruneCheckpoints(plan, dir);
  return dir;
}

/** Keeps the newest `checkpoints.keep` checkpoint folders. */
function pruneCheckpoints(plan: RunPlan, newest: string): void {
  for (const old of checkpointSteps(plan.run_dir).slice(plan.checkpoints.keep)) {
    const dir = join(plan.run_dir, `checkpoint-${old}`);
    if (dir !== newest) rmSync(dir, { recursive: true, force: true });
  }
}

function requireSplit(prepared: PreparedData, split: SplitName): string {
  const dir = prepared.splits[split]?.dir;
  if (!dir) throw unsupported(`the data has no ${split} split`);
  return dir;
}

function unsupported(why: string): TuneError {
  return TuneError.single({ code: "tfjs-unsupported", message: `the tfjs engine cannot run this recipe: ${why}`, hint: "Use engine: torch, or change the recipe." }, ExitCode.user);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
