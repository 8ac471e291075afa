import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import {
  bf16ToFloat32,
  float32ToBf16,
  mergeAdapter,
  openModelWeights,
  openSafetensors,
  writeSafetensors,
  type TensorToWrite,
} from "../../src/adapter/index.js";
import { seededNormal } from "../../src/builtin/index.js";
import { adaptedModel, restoreAdapter } from "../../src/engine/tfjs/adapted-model.js";
import { loadModel, selectBackend } from "../../src/engine/tfjs/index.js";
import { isTuneError } from "../../src/errors/index.js";
import type { RunPlan } from "../../src/recipe/index.js";
import { hasStackTrace, tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";
import { referencePython } from "../support/reference-python.js";

const OUT = 24;
const IN = 40;
const RANK = 4;

/** A two-layer stand-in model: q_proj/v_proj weights [out, in] (Linear), c_attn [in, out] (GPT-2 Conv1D), a norm, an int buffer. */
function baseFolder(dtype: "F32" | "BF16" = "F32"): { dir: string; tensors: Map<string, Float32Array> } {
  const dir = tempDir({
    "config.json": JSON.stringify({ architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: IN }),
    "tokenizer.json": "{}",
    "pytorch_model.bin": "pickle",
  });
  const tensors = new Map<string, Float32Array>();
  const entries: TensorToWrite[] = [];
  let seed = 10;
  for (const layer of [0, 1]) {
    for (const [name, shape] of [
      [`model.layers.${layer}.self_attn.q_proj.weight`, [OUT, IN]],
      [`model.layers.${layer}.self_attn.v_proj.weight`, [OUT, IN]],
      [`model.layers.${layer}.attn.c_attn.weight`, [IN, OUT]],
      [`model.layers.${layer}.input_layernorm.weight`, [IN]],
    ] as Array<[string, number[]]>) {
      const values = seededNormal(
        shape.reduce((a, b) => a * b, 1),
        0.5,
        seed++,
      );
      const data = dtype === "BF16" ? float32ToBf16(values) : values;
      tensors.set(name, dtype === "BF16" ? bf16ToFloat32(data as Uint16Array) : values);
      entries.push({ name, dtype, shape, data });
    }
  }
  entries.push({ name: "model.rotary.inv_freq_ids", dtype: "I64", shape: [2], data: new BigInt64Array([3n, 4n]) });
  writeSafetensors(join(dir, "model.safetensors"), entries);
  return { dir, tensors };
}

interface AdapterSpec {
  modules: string[];
  alpha: number;
  rslora?: boolean;
  dora?: boolean;
  fanInFanOut?: boolean;
}

/** A PEFT adapter with random A and B (B non-zero, unlike a fresh one). */
function adapterFolder(spec: AdapterSpec): { dir: string; tensors: Map<string, Float32Array> } {
  const dir = tempDir();
  const tensors = new Map<string, Float32Array>();
  const entries: TensorToWrite[] = [];
  let seed = 100;
  for (const module of spec.modules) {
    const [rows, cols] = [OUT, IN];
    const a = seededNormal(RANK * cols, 0.3, seed++);
    const b = seededNormal(rows * RANK, 0.3, seed++);
    tensors.set(`${module}.A`, a);
    tensors.set(`${module}.B`, b);
    entries.push({ name: `base_model.model.${module}.lora_A.weight`, dtype: "F32", shape: [RANK, cols], data: a });
    entries.push({ name: `base_model.model.${module}.lora_B.weight`, dtype: "F32", shape: [rows, RANK], data: b });
    if (spec.dora) {
      const m = Float32Array.from(seededNormal(rows, 0.2, seed++), (x) => 1 + x);
      tensors.set(`${module}.m`, m);
      entries.push({ name: `base_model.model.${module}.lora_magnitude_vector`, dtype: "F32", shape: [rows], data: m });
    }
  }
  writeSafetensors(join(dir, "adapter_model.safetensors"), entries);
  writeFileSync(
    join(dir, "adapter_config.json"),
    JSON.stringify({
      peft_type: "LORA",
      task_type: "CAUSAL_LM",
      r: RANK,
      lora_alpha: spec.alpha,
      use_rslora: spec.rslora ?? false,
      use_dora: spec.dora ?? false,
      fan_in_fan_out: spec.fanInFanOut ?? false,
      target_modules: ["q_proj"],
    }),
  );
  return { dir, tensors };
}

/** W + scale·B·A, each entry summed on its own in float64: an independent reference, not the merge's loop. */
function expectedWeight(
  w: Float32Array,
  a: Float32Array,
  b: Float32Array,
  scale: number,
  fanInFanOut: boolean,
  magnitude?: Float32Array,
): Float64Array {
  const out = new Float64Array(w.length);
  for (let o = 0; o < OUT; o++) {
    for (let i = 0; i < IN; i++) {
      let delta = 0;
      for (let k = 0; k < RANK; k++) delta += (b[o * RANK + k] as number) * (a[k * IN + i] as number);
      const index = fanInFanOut ? i * OUT + o : o * IN + i;
      out[index] = (w[index] as number) + scale * delta;
    }
  }
  if (magnitude) {
    for (let o = 0; o < OUT; o++) {
      let norm = 0;
      for (let i = 0; i < IN; i++) norm += (out[o * IN + i] as number) ** 2;
      for (let i = 0; i < IN; i++)
        out[o * IN + i] = (out[o * IN + i] as number) * ((magnitude[o] as number) / Math.sqrt(norm));
    }
  }
  return out;
}

function expectClose(actual: Float32Array, expected: Float64Array, tolerance: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++)
    worst = Math.max(
      worst,
      Math.abs((actual[i] as number) - (expected[i] as number)) / Math.max(1, Math.abs(expected[i] as number)),
    );
  expect(worst, what).toBeLessThan(tolerance);
}

describe("merging a LoRA adapter into its base", () => {
  const targets = [
    "model.layers.0.self_attn.q_proj",
    "model.layers.1.self_attn.q_proj",
    "model.layers.1.self_attn.v_proj",
  ];

  for (const variant of [
    { name: "LoRA", alpha: 8 },
    { name: "rsLoRA", alpha: 8, rslora: true },
    { name: "DoRA", alpha: 16, dora: true },
  ]) {
    it(`adds scale·B·A to every target (${variant.name}) and leaves every other tensor byte-identical`, () => {
      const base = baseFolder();
      const adapter = adapterFolder({ modules: targets, ...variant });
      const out = join(tempDir(), "merged");
      const result = mergeAdapter({ adapter: adapter.dir, base: base.dir, out, dtype: "F32" });
      expect(result).toMatchObject({ merged: 3, replaced: 0, dtype: "F32" });
      const merged = openModelWeights(out);
      const original = openModelWeights(base.dir);
      const scale = variant.rslora ? variant.alpha / Math.sqrt(RANK) : variant.alpha / RANK;
      for (const name of original.names) {
        const module = name.replace(/\.weight$/, "");
        if (targets.includes(module)) {
          const expected = expectedWeight(
            base.tensors.get(name) as Float32Array,
            adapter.tensors.get(`${module}.A`) as Float32Array,
            adapter.tensors.get(`${module}.B`) as Float32Array,
            scale,
            false,
            adapter.tensors.get(`${module}.m`),
          );
          expectClose(merged.readFloat32(name), expected, 1e-6, name);
        } else {
          expect(Buffer.from(merged.readBytes(name)).equals(Buffer.from(original.readBytes(name))), name).toBe(true);
        }
      }
      expect(merged.names.sort()).toEqual(original.names.sort());
      merged.close();
      original.close();
      // Config and tokenizer come along; pickles never do; provenance is recorded.
      expect(existsSync(join(out, "tokenizer.json"))).toBe(true);
      expect(existsSync(join(out, "pytorch_model.bin"))).toBe(false);
      const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as {
        dtype: string;
        tune_merge: { adapter: string };
      };
      expect(config.dtype).toBe("float32");
      expect(config.tune_merge.adapter).toBe(adapter.dir);
    });
  }

  it("transposes the delta for fan_in_fan_out (GPT-2 Conv1D) weights", () => {
    const base = baseFolder();
    const modules = ["model.layers.0.attn.c_attn"];
    const adapter = adapterFolder({ modules, alpha: 4, fanInFanOut: true });
    const out = join(tempDir(), "merged");
    mergeAdapter({ adapter: adapter.dir, base: base.dir, out, dtype: "F32" });
    const merged = openModelWeights(out);
    const name = "model.layers.0.attn.c_attn.weight";
    expectClose(
      merged.readFloat32(name),
      expectedWeight(
        base.tensors.get(name) as Float32Array,
        adapter.tensors.get(`${modules[0]}.A`) as Float32Array,
        adapter.tensors.get(`${modules[0]}.B`) as Float32Array,
        1,
        true,
      ),
      1e-6,
      name,
    );
    merged.close();
  });

  it("writes bf16 rounded once from the float32 sum, in shards with an index that covers every tensor", () => {
    const base = baseFolder("BF16");
    const adapter = adapterFolder({ modules: targets, alpha: 8 });
    const out = join(tempDir(), "merged");
    const result = mergeAdapter({ adapter: adapter.dir, base: base.dir, out, maxShardBytes: 300 });
    expect(result.dtype).toBe("BF16");
    const index = JSON.parse(readFileSync(join(out, "model.safetensors.index.json"), "utf8")) as {
      metadata: { total_size: number };
      weight_map: Record<string, string>;
    };
    const shards = [...new Set(Object.values(index.weight_map))];
    expect(shards.length).toBeGreaterThan(2);
    expect(shards.every((s) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(s))).toBe(true);
    let bytes = 0;
    for (const shard of shards) {
      const file = openSafetensors(join(out, shard));
      for (const [name, info] of file.tensors) {
        expect(index.weight_map[name]).toBe(shard);
        bytes += info.end - info.begin;
      }
      file.close();
    }
    expect(index.metadata.total_size).toBe(bytes);
    const merged = openModelWeights(out);
    const name = "model.layers.1.self_attn.v_proj.weight";
    expect(merged.info(name).dtype).toBe("BF16");
    const exact = expectedWeight(
      base.tensors.get(name) as Float32Array,
      adapter.tensors.get("model.layers.1.self_attn.v_proj.A") as Float32Array,
      adapter.tensors.get("model.layers.1.self_attn.v_proj.B") as Float32Array,
      2,
      false,
    );
    // bf16 keeps 8 bits of mantissa: within half a unit in the last place of the exact sum.
    expectClose(merged.readFloat32(name), exact, 2 ** -8, name);
    expect(merged.info("model.rotary.inv_freq_ids").dtype).toBe("I64");
    merged.close();
  });

  it("refuses a quantized base, an adapter for another model, and an occupied --out, leaving nothing behind", () => {
    const base = baseFolder();
    const adapter = adapterFolder({ modules: targets, alpha: 8 });
    const quantized = tempDir({
      "config.json": JSON.stringify({
        model_type: "llama",
        quantization_config: { quant_method: "bitsandbytes", load_in_4bit: true },
      }),
    });
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return isTuneError(error) ? `${error.exitCode}:${error.problems[0]?.code}` : String(error);
      }
      return "no error";
    };
    const out = join(tempDir(), "merged");
    expect(code(() => mergeAdapter({ adapter: adapter.dir, base: quantized, out }))).toBe("2:merge-quantized-base");
    const other = adapterFolder({ modules: ["model.layers.7.self_attn.q_proj"], alpha: 8 });
    expect(code(() => mergeAdapter({ adapter: other.dir, base: base.dir, out }))).toBe("2:merge-module-missing");
    expect(existsSync(out)).toBe(false);
    mkdirSync(out);
    writeFileSync(join(out, "precious.txt"), "keep me");
    expect(code(() => mergeAdapter({ adapter: adapter.dir, base: base.dir, out }))).toBe("2:merge-out-exists");
    expect(readFileSync(join(out, "precious.txt"), "utf8")).toBe("keep me");
  });
});

describe("tune merge on a trained classifier", () => {
  it("gives the merged model the logits of base + adapter, in tfjs and in transformers", async () => {
    const data = `text,label\n${Array.from({ length: 32 }, (_, i) => `"note ${i}: ${["lovely day", "awful delay", "great help", "rude reply"][i % 4]}",${i % 2 ? "bad" : "good"}`).join("\n")}\n`;
    const dir = tempDir({
      "cls.yaml":
        "task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 16, target_modules: all-linear}\ndata: {file: d.csv, labels: [good, bad], split: {eval: 0.25, seed: 1}}\ntraining: {max_steps: 4, batch_size: 8, lr: 0.02}\ncheckpoints: {every: 4}\n",
      "d.csv": data,
    });
    const env = { TUNE_CACHE_DIR: join(dir, "cache") };
    const trained = await tune(["recipe", "cls.yaml", "--out", "runs"], { cwd: dir, env });
    expect(trained.exitCode, trained.stderr).toBe(0);
    const merged = await tune(["merge", "runs/cls", "--out", "merged", "--dtype", "fp32", "--json"], { cwd: dir, env });
    expect(merged.exitCode, merged.stderr).toBe(0);
    const summary = JSON.parse(merged.stdout) as {
      checkpoint: string;
      merged: number;
      replaced: number;
      files: string[];
    };
    expect(summary.checkpoint).toBe(join(dir, "runs/cls/checkpoint-4"));
    expect(summary.merged).toBe(2 * 7);
    expect(summary.replaced).toBe(1);
    expect(summary.files).toContain("README.md");
    const config = JSON.parse(readFileSync(join(dir, "merged/config.json"), "utf8")) as {
      architectures: string[];
      id2label: Record<string, string>;
    };
    expect(config.architectures).toEqual(["LlamaForSequenceClassification"]);
    expect(config.id2label).toEqual({ "0": "good", "1": "bad" });

    await selectBackend("cpu");
    const plan = JSON.parse(readFileSync(join(dir, "runs/cls/plan.json"), "utf8")) as RunPlan;
    const baseDir = (
      JSON.parse(readFileSync(join(dir, "merged/config.json"), "utf8")) as { tune_merge: { base: string } }
    ).tune_merge.base;
    const ids = [
      [1, 450, 4796, 338, 263, 1243, 29889],
      [1, 306, 763, 372, 2],
    ];
    const padded = ids.map((row) => [...row, ...Array(7 - row.length).fill(0)]);
    const mask = tf.tensor2d(ids.map((row) => Array.from({ length: 7 }, (_, t) => (t < row.length ? 1 : 0))));
    const adapted = adaptedModel(plan, baseDir);
    restoreAdapter(join(dir, "runs/cls/checkpoint-4"), adapted);
    const adapt = adapted.lora.adapter(null);
    const reference = adapted.model
      .classLogits(
        adapted.model.hidden(adapted.model.embed(tf.tensor2d(padded, undefined, "int32")), mask, { adapt }),
        ids,
        adapted.head,
        { adapt },
      )
      .arraySync();
    const plain = loadModel(join(dir, "merged"));
    const weights = openModelWeights(join(dir, "merged"));
    const head = new Map([
      ["score.weight", tf.tensor2d(weights.readFloat32("score.weight"), [2, plain.config.hiddenSize])],
    ]);
    weights.close();
    const logits = plain
      .classLogits(plain.hidden(plain.embed(tf.tensor2d(padded, undefined, "int32")), mask), ids, head)
      .arraySync();
    for (let r = 0; r < 2; r++)
      for (let c = 0; c < 2; c++) expect(logits[r]?.[c]).toBeCloseTo(reference[r]?.[c] as number, 4);

    // transformers loads the merged folder as a classifier with no PEFT, and agrees with PEFT on base + adapter.
    const script = `
import json, sys, torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification
ids = torch.tensor([[1, 450, 4796, 338, 263, 1243, 29889]])
merged = AutoModelForSequenceClassification.from_pretrained(sys.argv[1]).eval()
base = AutoModelForSequenceClassification.from_pretrained(sys.argv[2], num_labels=2, pad_token_id=0)
peft = PeftModel.from_pretrained(base, sys.argv[3]).eval()
with torch.no_grad():
    print(json.dumps({"merged": merged(ids).logits[0].tolist(), "peft": peft(ids).logits[0].tolist(), "labels": merged.config.id2label}))
`;
    const python = await execa(
      referencePython,
      ["-W", "ignore", "-c", script, join(dir, "merged"), baseDir, join(dir, "runs/cls/checkpoint-4")],
      { reject: false },
    );
    expect(python.exitCode, python.stderr).toBe(0);
    const compared = JSON.parse(python.stdout.trim().split("\n").at(-1) as string) as {
      merged: number[];
      peft: number[];
      labels: Record<string, string>;
    };
    expect(compared.labels).toEqual({ "0": "good", "1": "bad" });
    for (let c = 0; c < 2; c++) expect(compared.merged[c]).toBeCloseTo(compared.peft[c] as number, 4);
    expect(compared.merged[0]).toBeCloseTo(reference[0]?.[0] as number, 3);
  }, 120_000);

  it("explains a bad --dtype and a missing checkpoint without a stack trace", async () => {
    const dir = tempDir();
    const dtype = await tune(["merge", dir, "--out", "x", "--dtype", "int4"], { cwd: dir });
    expect(dtype.exitCode).toBe(2);
    expect(dtype.stderr).toContain("--dtype int4");
    const missing = await tune(["merge", join(dir, "nope"), "--out", "x"], { cwd: dir });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain("does not exist");
    expect(hasStackTrace(dtype.stderr + missing.stderr)).toBe(false);
  });
});
