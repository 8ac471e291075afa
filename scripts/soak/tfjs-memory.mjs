// Soak test: the tfjs engine releases every step's memory. A classifier on builtin:tiny-llama
// trains --steps optimizer steps (default 1000, batch 1) in this process, on the plain-JS cpu
// backend, logging every 50; every logged step must report the same number of live tensors and
// the same tensor bytes (tf.memory()), or a step leaks. It takes about 20 s on two quiet cores,
// too long for the test suite, which checks 60 steps (test/e2e/tfjs-training.test.ts); run it
// before a release or after changing the training loop:
//
//   npm run build && node scripts/soak/tfjs-memory.mjs [--steps 1000]
//
// Prints one line per logged step and a verdict; exits 0 when memory stayed flat, 1 when not.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { prepareData } from "../../dist/data/index.js";
import { trainTfjs } from "../../dist/engine/tfjs/index.js";
import { loadRecipe, resolvePlan } from "../../dist/index.js";
import { locateModel } from "../../dist/model/index.js";
import { completePlan } from "../../dist/run/index.js";

const { values } = parseArgs({ options: { steps: { type: "string", default: "1000" } } });
const steps = Number(values.steps);
const LOGGING = 50;

const DATA = `text,label\n${Array.from({ length: 32 }, (_, i) => `"review ${i}: ${["great value", "broke quickly", "works well", "waste of money"][i % 4]}",${i % 2 ? "negative" : "positive"}`).join("\n")}\n`;
const RECIPE = `task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8, dropout: 0}\ndata: {train: d.csv, labels: [positive, negative]}\ntraining: {max_steps: ${steps}, batch_size: 1, lr: 0.001, logging_steps: ${LOGGING}, group_by_length: false, max_grad_norm: 0}\ncheckpoints: {every: ${steps}, keep: 1}\neval: {splits: [train]}\n`;

const dir = mkdtempSync(join(tmpdir(), "tune-soak-"));
try {
  writeFileSync(join(dir, "d.csv"), DATA);
  writeFileSync(join(dir, "recipe.yaml"), RECIPE);
  const resolved = resolvePlan(await loadRecipe(join(dir, "recipe.yaml")), { out: join(dir, "runs") });
  const cacheRoot = join(dir, "cache");
  const model = await locateModel(resolved, { cacheRoot });
  const prepared = await prepareData(resolved, model, { cacheRoot });
  const plan = completePlan(resolved, prepared);
  const logged = [];
  const started = Date.now();
  await trainTfjs(plan, model.dir, prepared, {
    backend: "cpu",
    emit: (event) => {
      if (event.type !== "step") return;
      logged.push(event);
      console.log(`step ${event.step}: ${event.tensors} tensors, ${event.memory_mb} MB`);
    },
  });
  const tensors = new Set(logged.map((e) => e.tensors));
  const bytes = new Set(logged.map((e) => e.memory_mb));
  const expected = Math.floor(steps / LOGGING);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (logged.length === expected && tensors.size === 1 && bytes.size === 1) {
    console.log(`PASS: ${steps} steps in ${seconds} s, live tensors (${[...tensors]}) and MB (${[...bytes]}) flat`);
  } else {
    console.log(
      `FAIL: ${logged.length} of ${expected} logged steps; live tensors seen ${[...tensors].join(", ")}; MB seen ${[...bytes].join(", ")}`,
    );
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
