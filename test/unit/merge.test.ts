import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
import { isTuneError } from "../../src/errors/index.js";
import { tempDir } from "../support/temp-dir.js";

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
