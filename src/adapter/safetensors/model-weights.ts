import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../files/index.js";
import { TuneError } from "../../errors/index.js";
import { openSafetensors, type SafetensorsFile, type TensorInfo } from "./read-safetensors.js";
import { tensorBytes, writeSafetensors, type TensorToWrite } from "./write-safetensors.js";

export interface ModelWeights {
  names: string[];
  info(name: string): TensorInfo;
  readFloat32(name: string): Float32Array;
  readBytes(name: string): Uint8Array;
  /** Bytes [begin, end) of a tensor's data, for streaming through a tensor in pieces. */
  readRange(name: string, begin: number, end: number): Uint8Array;
  close(): void;
}

const INDEX = "model.safetensors.index.json";
const SINGLE = "model.safetensors";
const PICKLE_FILES = /^(pytorch_model.*\.bin|.*\.pt|.*\.pth|.*\.ckpt)$/;
const SHARD_NAME = /^[^/\\]+\.safetensors$/;

/**
 * A model folder's weights, single-file or sharded (model.safetensors.index.json), opened
 * lazily: each tensor is read from its shard when asked for. Pickle-only folders are refused,
 * because loading pickles runs code from the model repo.
 */
export function openModelWeights(dir: string): ModelWeights {
  const shards = new Map<string, SafetensorsFile>();
  const owner = new Map<string, SafetensorsFile>();
  const indexFile = join(dir, INDEX);
  const open = (file: string) => {
    let shard = shards.get(file);
    if (!shard) {
      // Shard names come from the index, a file of the model repo: only a file beside it is opened.
      if (!SHARD_NAME.test(file) || !existsSync(join(dir, file))) {
        throw TuneError.single({
          code: "weights-index-mismatch",
          message: `${INDEX} names the shard ${JSON.stringify(file)}, which is not a safetensors file in ${dir}`,
          location: { file: indexFile },
          hint: "The shards and the index come from different saves (or the index was altered); download the model again.",
        });
      }
      shard = openSafetensors(join(dir, file));
      shards.set(file, shard);
    }
    return shard;
  };
  if (existsSync(indexFile)) {
    let index: { weight_map?: unknown };
    try {
      index = JSON.parse(readFileSync(indexFile, "utf8")) as { weight_map?: unknown };
    } catch {
      throw TuneError.single({
        code: "weights-index-invalid",
        message: `${INDEX} is not valid JSON`,
        location: { file: indexFile },
        hint: "Download or save the model again.",
      });
    }
    if (index === null || typeof index.weight_map !== "object" || index.weight_map === null) {
      throw TuneError.single({
        code: "weights-index-invalid",
        message: `${INDEX} has no weight_map`,
        location: { file: indexFile },
        hint: "Download or save the model again.",
      });
    }
    for (const [name, file] of Object.entries(index.weight_map as Record<string, unknown>)) {
      if (typeof file !== "string")
        throw TuneError.single({
          code: "weights-index-invalid",
          message: `${INDEX} maps ${name} to ${JSON.stringify(file)}, not a file name`,
          location: { file: indexFile },
          hint: "Download or save the model again.",
        });
      const shard = open(file);
      if (!shard.tensors.has(name)) {
        throw TuneError.single({
          code: "weights-index-mismatch",
          message: `${INDEX} puts ${name} in ${file}, which does not hold it`,
          location: { file: indexFile },
          hint: "The shards and the index come from different saves; download the model again.",
        });
      }
      owner.set(name, shard);
    }
  } else if (existsSync(join(dir, SINGLE))) {
    const shard = open(SINGLE);
    for (const name of shard.tensors.keys()) owner.set(name, shard);
  } else {
    const pickles = existsSync(dir) ? readdirSync(dir).filter((f) => PICKLE_FILES.test(f)) : [];
    throw TuneError.single({
      code: pickles.length > 0 ? "weights-pickle-only" : "weights-missing",
      message:
        pickles.length > 0
          ? `${dir} has only pickle weights (${pickles.join(", ")}), which tune refuses to load: unpickling runs code from the file`
          : `${dir} has no model.safetensors or ${INDEX}`,
      location: { file: dir },
      hint:
        pickles.length > 0
          ? "Convert once where you trust the file: AutoModel.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)."
          : "Point model.base at a folder saved with save_pretrained (safetensors).",
    });
  }
  const shardOf = (name: string) => {
    const shard = owner.get(name);
    if (!shard) throw new Error(`no tensor ${name} in ${dir}`);
    return shard;
  };
  return {
    names: [...owner.keys()],
    info: (name) => shardOf(name).tensors.get(name) as TensorInfo,
    readFloat32: (name) => shardOf(name).readFloat32(name),
    readBytes: (name) => shardOf(name).readBytes(name),
    readRange: (name, begin, end) => shardOf(name).readRange(name, begin, end),
    close: () => shards.forEach((shard) => shard.close()),
  };
}

/** transformers' default shard limit (5 GB, in units of 10^9). */
export const DEFAULT_SHARD_BYTES = 5_000_000_000;

/**
 * Writes a model's tensors as transformers does: one model.safetensors when it fits, else
 * model-0000i-of-0000N.safetensors shards plus model.safetensors.index.json.
 */
export function writeModelWeights(
  dir: string,
  tensors: readonly TensorToWrite[],
  maxShardBytes = DEFAULT_SHARD_BYTES,
): string[] {
  const shards: TensorToWrite[][] = [[]];
  let shardBytes = 0;
  for (const tensor of tensors) {
    const bytes = tensorBytes(tensor);
    if (shardBytes > 0 && shardBytes + bytes > maxShardBytes) {
      shards.push([]);
      shardBytes = 0;
    }
    (shards.at(-1) as TensorToWrite[]).push(tensor);
    shardBytes += bytes;
  }
  if (shards.length === 1) {
    writeSafetensors(join(dir, SINGLE), tensors);
    return [SINGLE];
  }
  const count = String(shards.length).padStart(5, "0");
  const files = shards.map((_, i) => `model-${String(i + 1).padStart(5, "0")}-of-${count}.safetensors`);
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    writeSafetensors(join(dir, files[i] as string), shard);
    for (const tensor of shard) weightMap[tensor.name] = files[i] as string;
  });
  const totalSize = tensors.reduce((sum, t) => sum + tensorBytes(t), 0);
  const sorted = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : 1)));
  writeFileAtomic(
    join(dir, INDEX),
    `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: sorted }, null, 2)}\n`,
  );
  return [...files, INDEX];
}
