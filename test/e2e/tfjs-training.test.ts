import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { openSafetensors } from "../../src/adapter/index.js";
import { readDatasetSplit } from "../../src/data/index.js";
import type { TrainEvent } from "../../src/engine/index.js";
import { createLora, loadModel, selectBackend, trainTfjs } from "../../src/engine/tfjs/index.js";
import { linearModules, readModelConfig } from "../../src/model/index.js";
import { readPredictions } from "../../src/eval/index.js";
import type { RunPlan } from "../../src/index.js";
import { planFor, preparedFor } from "../support/plan.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

const DATA = `text,label\n${Array.from({ length: 32 }, (_, i) => `"review ${i}: ${["great value", "broke quickly", "works well", "waste of money"][i % 4]}",${i % 2 ? "negative" : "positive"}`).join("\n")}\n`;
const classifier = (training: string) =>
  `task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8, dropout: 0}\ndata: {train: d.csv, labels: [positive, negative]}\ntraining: {${training}, group_by_length: false, max_grad_norm: 0}\ncheckpoints: {every: 1000, keep: 1}\neval: {splits: [train]}\n`;

async function train(
  recipe: string,
  cacheRoot: string,
): Promise<{ plan: RunPlan; events: TrainEvent[]; checkpoint: string }> {
  const { plan, modelDir, prepared } = await preparedFor((await planFor(recipe, { "d.csv": DATA })).plan, cacheRoot);
  const events: TrainEvent[] = [];
  const { checkpoint } = await trainTfjs(plan, modelDir, prepared, { backend: "cpu", emit: (e) => events.push(e) });
  return { plan, events, checkpoint };
}

function adapterTensors(checkpoint: string): Map<string, Float32Array> {
  const file = openSafetensors(join(checkpoint, "adapter_model.safetensors"));
  const out = new Map([...file.tensors.keys()].map((name) => [name, file.readFloat32(name).slice()]));
  file.close();
  return out;
}

describe("tfjs training", () => {
  it("gradient accumulation equals one large batch", async () => {
    const cache = testCache(tempDir());
    const big = await train(classifier("max_steps: 2, batch_size: 8, gradient_accumulation: 1, lr: 0.01"), cache);
    const accumulated = await train(
      classifier("max_steps: 2, batch_size: 2, gradient_accumulation: 4, lr: 0.01"),
      cache,
    );
    const a = adapterTensors(big.checkpoint);
    const b = adapterTensors(accumulated.checkpoint);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [name, values] of a) {
      const other = b.get(name) as Float32Array;
      const worst = values.reduce((m, v, i) => Math.max(m, Math.abs(v - (other[i] as number))), 0);
      expect(worst, name).toBeLessThan(1e-5);
    }
    const losses = (events: TrainEvent[]) => events.flatMap((e) => (e.type === "step" ? [e.loss] : []));
    losses(big.events).forEach((loss, i) => expect(loss).toBeCloseTo(losses(accumulated.events)[i] as number, 5));
  }, 120_000);

  it("keeps the number of live tensors flat from step to step, and learns the training set", async () => {
    const { events } = await train(
      classifier("max_steps: 60, batch_size: 8, lr: 0.01, logging_steps: 1"),
      testCache(tempDir()),
    );
    const steps = events.flatMap((e) => (e.type === "step" ? [e] : []));
    expect(steps).toHaveLength(60);
    expect(new Set(steps.slice(2).map((s) => s.tensors)).size).toBe(1);
    expect((steps.at(-1) as { loss: number }).loss).toBeLessThan((steps[0] as { loss: number }).loss / 4);
    const predictions = events.find((e) => e.type === "predictions");
    expect(predictions).toMatchObject({ split: "train", examples: 32 });
    const rows = readPredictions((predictions as { file: string }).file);
    expect(rows).toHaveLength(32);
    for (const row of rows) {
      expect(row.pred).toBe(row.gold);
      expect(Object.values(row.probs ?? {}).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  }, 120_000);

  // Flat memory over 1,000 steps is a soak test: scripts/soak/tfjs-memory.mjs (DEVELOPERS.md).

  it("LoRA gradients match finite differences", async () => {
    await selectBackend("cpu");
    const { plan, modelDir, prepared } = await preparedFor(
      (await planFor(classifier("max_steps: 1"), { "d.csv": DATA })).plan,
      testCache(tempDir()),
    );
    const model = loadModel(modelDir);
    const lora = createLora(linearModules(readModelConfig(modelDir)), { ...plan.lora, dropout: 0 }, 3);
    // B starts at zero, which hides A's gradient; give B values so both are checked.
    for (const module of lora.modules)
      module.b.assign(tf.mul(tf.randomNormal(module.b.shape, 0, 0.05, "float32", 5), 1));
    const split = readDatasetSplit(prepared.splits.train?.dir ?? "");
    const ids = [[...split.ids(0)], [...split.ids(1)]];
    const width = Math.max(...ids.map((r) => r.length));
    const padded = ids.map((r) => [...r, ...new Array<number>(width - r.length).fill(0)]);
    const mask = ids.map((r) => [...r.map(() => 1), ...new Array<number>(width - r.length).fill(0)]);
    const loss = () =>
      tf.tidy(
        () =>
          tf.sum(
            tf.square(
              model.hidden(model.embed(tf.tensor2d(padded, undefined, "int32")), tf.tensor2d(mask), {
                adapt: lora.adapter(null),
              }),
            ),
          ) as tf.Scalar,
      );
    const { grads } = tf.variableGrads(loss, lora.variables());
    const epsilon = 1e-2;
    for (const variable of [lora.modules[0]?.a, lora.modules[3]?.b, lora.modules.at(-1)?.a]) {
      if (!variable) continue;
      const values = variable.dataSync().slice();
      for (const index of [0, 7, values.length - 1]) {
        const at = (delta: number) => {
          const moved = values.slice();
          moved[index] = (moved[index] as number) + delta;
          variable.assign(tf.tensor(moved, variable.shape));
          return loss().dataSync()[0] as number;
        };
        const numeric = (at(epsilon) - at(-epsilon)) / (2 * epsilon);
        variable.assign(tf.tensor(values, variable.shape));
        const analytic = (grads[variable.name] as tf.Tensor).dataSync()[index] as number;
        expect(Math.abs(numeric - analytic)).toBeLessThan(2e-2 * Math.max(1, Math.abs(analytic)));
      }
    }
    tf.dispose(Object.values(grads));
    lora.dispose();
    model.dispose();
  }, 120_000);

  it("a causal-LM chat recipe trains on assistant tokens and writes a CAUSAL_LM adapter", async () => {
    const chats = Array.from({ length: 8 }, (_, i) =>
      JSON.stringify({
        messages: [
          { role: "user", content: `Say number ${i}.` },
          { role: "assistant", content: `Number ${i}.` },
        ],
      }),
    ).join("\n");
    const recipe =
      "task: causal-lm\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8, target_modules: [q_proj, v_proj]}\ndata: {train: chats.jsonl}\ntraining: {max_steps: 3, batch_size: 4, lr: 0.01, logging_steps: 1}\n";
    const { plan, modelDir, prepared } = await preparedFor(
      (await planFor(recipe, { "chats.jsonl": chats })).plan,
      testCache(tempDir()),
    );
    const events: TrainEvent[] = [];
    const { checkpoint } = await trainTfjs(plan, modelDir, prepared, { backend: "cpu", emit: (e) => events.push(e) });
    const config = JSON.parse(readFileSync(join(checkpoint, "adapter_config.json"), "utf8")) as Record<string, unknown>;
    expect(config).toMatchObject({
      task_type: "CAUSAL_LM",
      r: 4,
      lora_alpha: 8,
      modules_to_save: null,
      target_modules: ["q_proj", "v_proj"],
    });
    const losses = events.flatMap((e) => (e.type === "step" ? [e.loss] : []));
    expect(losses).toHaveLength(3);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[2]).toBeLessThan(losses[0] as number);
  }, 120_000);

  it("refuses what only the torch engine can do, naming it", async () => {
    const { plan, modelDir, prepared } = await preparedFor(
      (
        await planFor(
          classifier("max_steps: 1").replace("dropout: 0}", "dropout: 0, target_modules: [q_proj, lm_head]}"),
          { "d.csv": DATA },
        )
      ).plan,
      testCache(tempDir()),
    );
    await expect(trainTfjs(plan, modelDir, prepared, { backend: "cpu", emit: () => {} })).rejects.toThrow(
      /cannot put LoRA on lm_head/,
    );
    await expect(
      trainTfjs({ ...plan, lora: { ...plan.lora, bias: "lora_only" } }, modelDir, prepared, {
        backend: "cpu",
        emit: () => {},
      }),
    ).rejects.toThrow(/supports LoRA with bias: none/);
    await expect(
      trainTfjs({ ...plan, lora: { ...plan.lora, modules_to_save: ["embed_tokens"] } }, modelDir, prepared, {
        backend: "cpu",
        emit: () => {},
      }),
    ).rejects.toThrow(/modules_to_save embed_tokens/);
  });
});
