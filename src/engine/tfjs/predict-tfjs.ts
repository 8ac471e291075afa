import { dirname } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { makeFolders, writeFileAtomic } from "../../files/index.js";
import type { TextTokenizer, TokenizedSplit } from "../../data/index.js";
import type { RunPlan } from "../../recipe/index.js";
import { seededRandom } from "../../data/index.js";
import { padBatch } from "../batches.js";
import { generate } from "./generate.js";
import { classLossSum, tokenLossSums, trainedTokens } from "./losses.js";
import type { LinearAdapter, TfjsModel } from "./model.js";

export interface Predictor {
  model: TfjsModel;
  /** LoRA in evaluation mode (no dropout). */
  adapt: LinearAdapter;
  /** The trained classification head, for sequence classification. */
  head: ReadonlyMap<string, tf.Tensor> | null;
  plan: RunPlan;
  tokenizer: TextTokenizer;
}

export interface PredictionSummary {
  examples: number;
  /** Mean loss per example (classification) or per trained token (causal LM). */
  loss: number;
}

/**
 * Writes predictions/<split>.jsonl (contract 5): for a classifier, the gold label, the
 * predicted label and every class probability; for generated answers, the gold label or the
 * reference answer and the text the model wrote after the prompt (greedy unless the recipe sets
 * a temperature), cut at the first stop string. Rows keep the split's order; the file is
 * written atomically.
 */
export function predictSplit(predictor: Predictor, split: TokenizedSplit, file: string): PredictionSummary {
  const { plan } = predictor;
  const rows = plan.task === "sequence-classification" ? classify(predictor, split) : answer(predictor, split);
  makeFolders(dirname(file));
  writeFileAtomic(file, rows.lines.map((line) => `${JSON.stringify(line)}\n`).join(""));
  return { examples: split.manifest.count, loss: rows.loss };
}

function batchesOf(split: TokenizedSplit, size: number): number[][] {
  const batches: number[][] = [];
  for (let start = 0; start < split.manifest.count; start += size)
    batches.push(Array.from({ length: Math.min(size, split.manifest.count - start) }, (_, i) => start + i));
  return batches;
}

function classify({ model, adapt, head, plan }: Predictor, split: TokenizedSplit) {
  const labels = plan.data.labels ?? [];
  const lines: object[] = [];
  let lossSum = 0;
  for (const indices of batchesOf(split, plan.training.eval_batch_size)) {
    const batch = padBatch(split, indices, model.padTokenId);
    const [probabilities, loss] = tf.tidy(() => {
      const hidden = model.hidden(model.embed(tf.tensor2d(batch.ids, undefined, "int32")), tf.tensor2d(batch.mask), {
        adapt,
      });
      const logits = model.classLogits(hidden, batch.ids, head as ReadonlyMap<string, tf.Tensor>, { adapt });
      const known = batch.classIds.map((c) => Math.max(c, 0));
      return [
        tf.softmax(logits).arraySync() as number[][],
        classLossSum(model, hidden, batch.ids, head as ReadonlyMap<string, tf.Tensor>, known, labels.length, {
          adapt,
        }).arraySync() as number,
      ] as const;
    });
    lossSum += loss;
    probabilities.forEach((probs, row) => {
      const predicted = probs.indexOf(Math.max(...probs));
      const gold = batch.classIds[row] as number;
      lines.push({
        id: split.exampleIds[indices[row] as number],
        gold: gold >= 0 ? labels[gold] : null,
        pred: labels[predicted],
        probs: Object.fromEntries(labels.map((l, i) => [l, probs[i]])),
      });
    });
  }
  return { lines, loss: lossSum / Math.max(1, split.manifest.count) };
}

/** Generated answers after each example's prompt (the tokens before its first trained one). */
function answer({ model, adapt, plan, tokenizer }: Predictor, split: TokenizedSplit) {
  const labels = plan.data.labels;
  const { generation } = plan;
  const stopIds = new Set([
    ...(model.config.family === "llama" ? model.config.eosTokenIds : []),
    ...(tokenizer.eosId === null ? [] : [tokenizer.eosId]),
  ]);
  const random = seededRandom(plan.training.seed);
  const cut = (text: string) =>
    generation.stop.reduce((kept, stop) => (kept.includes(stop) ? kept.slice(0, kept.indexOf(stop)) : kept), text);
  const lines: object[] = [];
  let lossSum = 0;
  let tokens = 0;
  for (const indices of batchesOf(split, plan.training.eval_batch_size)) {
    const batch = padBatch(split, indices, model.padTokenId);
    // Prompting data has no reference answer to score, only a gold label.
    const rowLosses = batch.labels
      ? tf.tidy(
          () =>
            tokenLossSums(
              model,
              model.hidden(model.embed(tf.tensor2d(batch.ids, undefined, "int32")), tf.tensor2d(batch.mask), { adapt }),
              batch.labels ?? [],
            ).arraySync() as number[],
        )
      : indices.map(() => 0);
    const splitAt = indices.map((i) => {
      const first = (split.labels(i) ?? []).findIndex((l) => l !== -100);
      return first < 0 ? split.ids(i).length : first;
    });
    const prompts = indices.map((i, row) => [...split.ids(i)].slice(0, splitAt[row]));
    const answers = generate(model, prompts, {
      maxNewTokens: generation.max_new_tokens,
      stopIds,
      temperature: generation.temperature,
      topP: generation.top_p,
      random,
      adapt,
      done: generation.stop.length > 0 ? (ids) => cut(tokenizer.decode(ids)) !== tokenizer.decode(ids) : undefined,
    });
    indices.forEach((i, row) => {
      const rowTokens = trainedTokens([...(split.labels(i) ?? [])]);
      lossSum += rowLosses[row] as number;
      tokens += rowTokens;
      const reference = [...split.ids(i)].slice(splitAt[row]).filter((id) => !stopIds.has(id));
      const classId = split.classId(i) ?? -1;
      lines.push({
        id: split.exampleIds[i],
        gold: labels && classId >= 0 ? labels[classId] : tokenizer.decode(reference).trim(),
        answer: cut(tokenizer.decode(answers[row] as number[])).trim(),
        loss: (rowLosses[row] as number) / Math.max(1, rowTokens),
        tokens: rowTokens,
      });
    });
  }
  return { lines, loss: lossSum / Math.max(1, tokens) };
}
