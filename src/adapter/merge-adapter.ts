import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { replaceFolder, temporaryFolderFor, writeFileAtomic } from "../files/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import { addLowRank, type LowRankDelta } from "./lora-kernel.js";
import { readPeftAdapter, type LoraPair, type PeftAdapter } from "./read-peft-adapter.js";
import {
  bytesToFloat32,
  DEFAULT_SHARD_BYTES,
  DTYPE_BYTES,
  float32ToBytes,
  FLOAT_DTYPES,
  openModelWeights,
  tensorBytes,
  writeModelWeights,
  type Dtype,
  type ModelWeights,
  type TensorChunks,
  type TensorToWrite,
} from "./safetensors/index.js";

export type MergeDtype = "auto" | "F32" | "F16" | "BF16";

export interface MergeOptions {
  /** The adapter folder (a checkpoint). */
  adapter: string;
  /** The full-precision base model folder. */
  base: string;
  out: string;
  dtype?: MergeDtype;
  /** Class names for a classifier's config (id2label); default LABEL_0… */
  labels?: readonly string[];
  /** Recorded in config.json (`tune_merge`) and README.md. */
  provenance?: Record<string, unknown>;
  maxShardBytes?: number;
  /** Replace an earlier tune merge at `out`. */
  replace?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface MergeResult {
  out: string;
  files: string[];
  dtype: Dtype;
  /** Modules that got scale·B·A added. */
  merged: number;
  /** Tensors the adapter replaced or added whole (heads, trained biases). */
  replaced: number;
  bytes: number;
}

/** Output floats per piece of a streamed tensor: a few MB, whatever the model's size. */
const PIECE_ELEMENTS = 1 << 21;
const WEIGHT_FILES =
  /(\.safetensors|\.safetensors\.index\.json|\.bin|\.bin\.index\.json|\.pt|\.pth|\.ckpt|\.h5|\.msgpack|\.onnx|\.gguf)$/;
const HEADS_OF_PRETRAINING = /^(lm_head|cls)\./;

function mergeError(code: string, message: string, hint: string, file?: string): TuneError {
  return TuneError.single({ code, message, hint, ...(file ? { location: { file } } : {}) }, ExitCode.user);
}

/** The dtype most of the base's float bytes are stored in. */
function dominantDtype(weights: ModelWeights): Dtype {
  const bytes = new Map<Dtype, number>();
  for (const name of weights.names) {
    const info = weights.info(name);
    if (FLOAT_DTYPES.has(info.dtype)) bytes.set(info.dtype, (bytes.get(info.dtype) ?? 0) + info.end - info.begin);
  }
  return [...bytes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "F32";
}

/**
 * The base's name for an adapter's weight: the same name, or without the model prefix a
 * classifier adds (`bert.`, `roberta.`, `model.`) when the base was saved as the bare encoder.
 */
function prefixOf(adapter: PeftAdapter, weights: ModelWeights): string {
  const names = new Set(weights.names);
  for (const module of adapter.lora.keys()) {
    if (names.has(`${module}.weight`)) return "";
    const dot = module.indexOf(".");
    if (dot > 0 && names.has(`${module.slice(dot + 1)}.weight`)) return module.slice(0, dot + 1);
  }
  return "";
}

interface PreparedDelta extends LowRankDelta {
  /** DoRA: each output row is rescaled to magnitude[i] / ‖row‖ after the delta is added. */
  magnitude?: Float32Array;
}

/** DoRA's merge: W' = m / ‖W + ΔW‖_row · (W + ΔW), per output row. */
function rescaleRows(w: Float32Array, r0: number, cols: number, magnitude: Float32Array): void {
  for (let i = 0; i < w.length / cols; i++) {
    let norm = 0;
    for (let j = 0; j < cols; j++) norm += (w[i * cols + j] as number) ** 2;
    const factor = (magnitude[r0 + i] as number) / Math.sqrt(norm);
    for (let j = 0; j < cols; j++) w[i * cols + j] = (w[i * cols + j] as number) * factor;
  }
}

function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = values[i * cols + j] as number;
  return out;
}

/**
 * B [out, r] and A [r, in] (scale folded into the coefficients) arranged so each stored row of W takes a combination of rank rows:
 * W [out, in] rows combine A's rows with B's coefficients; a fan_in_fan_out W [in, out] rows
 * combine Bᵀ's rows with Aᵀ's coefficients.
 */
function prepareDelta(adapter: PeftAdapter, module: string, pair: LoraPair, shape: number[]): PreparedDelta {
  const [out, inFeatures] = [
    adapter.file.tensors.get(pair.b)?.shape[0] as number,
    adapter.file.tensors.get(pair.a)?.shape[1] as number,
  ];
  const a = adapter.file.readFloat32(pair.a);
  const b = adapter.file.readFloat32(pair.b);
  const fanInFanOut = adapter.config.fan_in_fan_out === true;
  const expected = fanInFanOut ? [inFeatures, out] : [out, inFeatures];
  if (shape.length !== 2 || shape[0] !== expected[0] || shape[1] !== expected[1]) {
    throw mergeError(
      "merge-shape-mismatch",
      `the adapter's ${module} is ${out}×${inFeatures} (B·A) but the base weight is [${shape.join(", ")}]`,
      "This adapter was trained on a different base model: pass the base it was trained on.",
      adapter.dir,
    );
  }
  const magnitude = pair.magnitude ? adapter.file.readFloat32(pair.magnitude) : undefined;
  if (magnitude && fanInFanOut)
    throw mergeError(
      "merge-dora-fan-in-fan-out",
      `DoRA on a fan_in_fan_out layer (${module}) is not supported by tune's merge`,
      "Merge it with PEFT's merge_and_unload().",
      adapter.dir,
    );
  const scaled = (coef: Float32Array) => coef.map((x) => x * pair.scale);
  return fanInFanOut
    ? { coef: scaled(transpose(a, pair.rank, inFeatures)), basis: transpose(b, out, pair.rank), rank: pair.rank }
    : { coef: scaled(b), basis: a, rank: pair.rank, magnitude };
}

/** A base tensor streamed piece by piece: converted to `dtype`, with the adapter's delta added when it has one. */
function streamedTensor(
  weights: ModelWeights,
  name: string,
  dtype: Dtype,
  delta: (() => PreparedDelta) | undefined,
  onBytes: (bytes: number) => void,
): TensorChunks {
  return (append) => {
    const info = weights.info(name);
    const source = info.dtype;
    const outType = FLOAT_DTYPES.has(source) ? dtype : source;
    const cols = info.shape.length >= 2 ? (info.shape.at(-1) as number) : Math.max(1, info.shape[0] ?? 1);
    const rows = Math.max(1, (info.end - info.begin) / DTYPE_BYTES[source] / cols);
    const step = Math.max(1, Math.floor(PIECE_ELEMENTS / cols));
    const prepared = delta?.();
    for (let r0 = 0; r0 < rows; r0 += step) {
      const r1 = Math.min(rows, r0 + step);
      const bytes = weights.readRange(name, r0 * cols * DTYPE_BYTES[source], r1 * cols * DTYPE_BYTES[source]);
      if (!prepared) {
        append(outType === source ? bytes : float32ToBytes(bytesToFloat32(bytes, source), outType));
      } else if (source === "BF16" && outType === "BF16" && !prepared.magnitude) {
        const merged = addLowRank(
          new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2),
          r0,
          cols,
          prepared,
        );
        append(new Uint8Array(merged.buffer, merged.byteOffset, merged.byteLength));
      } else {
        const merged = addLowRank(bytesToFloat32(bytes, source), r0, cols, prepared) as Float32Array;
        if (prepared.magnitude) rescaleRows(merged, r0, cols, prepared.magnitude);
        append(float32ToBytes(merged, outType));
      }
      onBytes((r1 - r0) * cols * DTYPE_BYTES[outType]);
    }
  };
}

/** transformers' classifier architecture for a base architecture: LlamaForCausalLM → LlamaForSequenceClassification. */
function classifierArchitecture(architecture: string | undefined, modelType: string): string {
  const family =
    architecture?.replace(/(ForCausalLM|ForMaskedLM|ForPreTraining|LMHeadModel|Model)$/, "") ||
    modelType.charAt(0).toUpperCase() + modelType.slice(1);
  return `${family}ForSequenceClassification`;
}

const TORCH_DTYPE: Record<string, string> = { F32: "float32", F16: "float16", BF16: "bfloat16" };

/**
 * What an earlier tune merge recorded in `<out>/config.json` (`tune_merge`), or undefined when
 * the folder holds no tune merge (or a config.json that cannot be read, which is not one).
 */
export function earlierMerge(out: string): { checkpoint?: string; requested_dtype?: string } | undefined {
  try {
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as { tune_merge?: unknown } | null;
    const record = config?.tune_merge;
    return record !== null && typeof record === "object"
      ? (record as { checkpoint?: string; requested_dtype?: string })
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Merges a LoRA adapter into its base model without holding the model in memory: each base
 * tensor is streamed from its shard in pieces of a few MB, targeted weights get scale·B·A added
 * in float32 (rsLoRA scaling, fan_in_fan_out and DoRA's magnitude as PEFT merges them), whole
 * tensors the adapter carries (the classifier head, trained biases) replace or join the base's,
 * and the result is written as sharded safetensors with an index, beside the base's config and
 * tokenizer files. It is built in a temporary folder and moved into place when complete.
 */
export function mergeAdapter(options: MergeOptions): MergeResult {
  const configFile = join(options.base, "config.json");
  if (!existsSync(configFile))
    throw mergeError(
      "merge-base-missing",
      `${options.base} has no config.json`,
      "Pass the base model's folder (the one the adapter was trained on).",
      options.base,
    );
  const config = JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>;
  if (config.quantization_config) {
    const method = (config.quantization_config as { quant_method?: string }).quant_method ?? "quantized";
    throw mergeError(
      "merge-quantized-base",
      `${options.base} is a ${method} quantized model: adding a LoRA delta to quantized weights would re-quantize them and lose the adapter's effect`,
      "Merge into the full-precision base instead (the repo without the -bnb-4bit/-GPTQ/-AWQ suffix: pass it with --base); quantize the merged model afterwards if you need to.",
      configFile,
    );
  }
  if (existsSync(options.out) && readdirSync(options.out).length > 0 && !options.replace) {
    throw mergeError(
      "merge-out-exists",
      `${options.out} already exists and is not empty`,
      "Choose another --out, or remove the folder first.",
      options.out,
    );
  }

  const adapter = readPeftAdapter(options.adapter);
  const weights = openModelWeights(options.base);
  const temporary = temporaryFolderFor(options.out);
  try {
    const dtype = options.dtype && options.dtype !== "auto" ? options.dtype : dominantDtype(weights);
    const prefix = prefixOf(adapter, weights);
    const classifier = adapter.config.task_type === "SEQ_CLS";
    const baseNames = new Set(weights.names.map((name) => prefix + name));
    const unmatched = [...adapter.lora.keys()].filter((module) => !baseNames.has(`${module}.weight`));
    if (unmatched.length > 0) {
      throw mergeError(
        "merge-module-missing",
        `the base model has no weight for the adapter's ${unmatched.slice(0, 3).join(", ")}${unmatched.length > 3 ? ` and ${unmatched.length - 3} more` : ""}`,
        "This adapter was trained on a different base model: pass the base it was trained on.",
        options.base,
      );
    }

    let done = 0;
    let totalBytes = 0;
    const outputs: TensorToWrite[] = [];
    // Called while the files are written, after every output is listed and totalBytes is known.
    const progress = (bytes: number) => {
      done += bytes;
      options.onProgress?.(done, totalBytes);
    };
    for (const name of weights.names) {
      const outName = prefix + name;
      if (adapter.whole.has(outName)) continue;
      if (classifier && HEADS_OF_PRETRAINING.test(outName)) continue;
      const info = weights.info(name);
      const module = outName.endsWith(".weight") ? outName.slice(0, -".weight".length) : undefined;
      const pair = module ? adapter.lora.get(module) : undefined;
      const delta = pair && module ? () => prepareDelta(adapter, module, pair, info.shape) : undefined;
      outputs.push({
        name: outName,
        dtype: FLOAT_DTYPES.has(info.dtype) ? dtype : info.dtype,
        shape: info.shape,
        data: streamedTensor(weights, name, dtype, delta, progress),
      });
    }
    for (const [outName, tensor] of adapter.whole) {
      const info = adapter.file.tensors.get(tensor);
      if (!info) continue;
      outputs.push({
        name: outName,
        dtype: FLOAT_DTYPES.has(info.dtype) ? dtype : info.dtype,
        shape: info.shape,
        data: (append) => {
          const bytes = FLOAT_DTYPES.has(info.dtype)
            ? float32ToBytes(adapter.file.readFloat32(tensor), dtype)
            : adapter.file.readBytes(tensor);
          append(bytes);
          progress(bytes.byteLength);
        },
      });
    }
    totalBytes = outputs.reduce((sum, t) => sum + tensorBytes(t), 0);
    const files = writeModelWeights(temporary, outputs, options.maxShardBytes ?? DEFAULT_SHARD_BYTES);

    for (const entry of readdirSync(options.base)) {
      const source = join(options.base, entry);
      if (
        entry === "config.json" ||
        entry === "README.md" ||
        entry.startsWith(".") ||
        WEIGHT_FILES.test(entry) ||
        !statSync(source).isFile()
      )
        continue;
      copyFileSync(source, join(temporary, entry));
      files.push(entry);
    }
    const merged: Record<string, unknown> = {
      ...config,
      dtype: TORCH_DTYPE[dtype] ?? config.dtype,
      tune_merge: {
        adapter: options.adapter,
        base: options.base,
        lora_modules: adapter.lora.size,
        ...options.provenance,
      },
    };
    delete merged.torch_dtype;
    if (classifier) {
      const headRows =
        [...adapter.whole.entries()]
          .map(([name, tensor]) => ({ name, rows: adapter.file.tensors.get(tensor)?.shape[0] ?? 0 }))
          .find((h) => /(score|classifier(\.out_proj)?)\.weight$/.test(h.name))?.rows ?? 0;
      const labels = options.labels ?? Array.from({ length: headRows }, (_, i) => `LABEL_${i}`);
      Object.assign(merged, {
        architectures: [
          classifierArchitecture((config.architectures as string[] | undefined)?.[0], String(config.model_type)),
        ],
        id2label: Object.fromEntries(labels.map((label, i) => [String(i), label])),
        label2id: Object.fromEntries(labels.map((label, i) => [label, i])),
        pad_token_id: config.pad_token_id ?? 0,
        problem_type: "single_label_classification",
      });
    }
    writeFileAtomic(join(temporary, "config.json"), `${JSON.stringify(merged, null, 2)}\n`);
    files.push("config.json");
    replaceFolder(temporary, options.out);
    return {
      out: options.out,
      files,
      dtype,
      merged: adapter.lora.size,
      replaced: adapter.whole.size,
      bytes: totalBytes,
    };
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  } finally {
    weights.close();
    adapter.close();
  }
}
