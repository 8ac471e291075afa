import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { TuneError } from "../../errors/index.js";
import { bytesToFloat32, DTYPE_BYTES, FLOAT_DTYPES, isDtype, type Dtype } from "./dtypes.js";

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Absolute byte range of the tensor in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  file: string;
  metadata: Record<string, string>;
  tensors: ReadonlyMap<string, TensorInfo>;
  /** The tensor's raw little-endian bytes, read from disk only now. */
  readBytes(name: string): Uint8Array;
  /** Bytes [begin, end) of the tensor's data. */
  readRange(name: string, begin: number, end: number): Uint8Array;
  /** The tensor as float32 (F32, F16, BF16 and F64 convert). */
  readFloat32(name: string): Float32Array;
  close(): void;
}

/** Headers above this size are refused: real ones are a few MB, a corrupt length could be anything. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/**
 * Opens a safetensors file and checks its header: entries well formed, sizes matching shapes,
 * and the byte buffer covered exactly, without holes or overlaps. Tensors are read lazily,
 * one at a time, so a model never needs two copies in memory.
 */
export function openSafetensors(file: string): SafetensorsFile {
  const fd = openSync(file, "r");
  const fail = (why: string): never => {
    closeSync(fd);
    throw TuneError.single({
      code: "safetensors-invalid",
      message: `not a valid safetensors file: ${why}`,
      location: { file },
      hint: "The file is truncated or corrupt; download or write it again.",
    });
  };
  const size = fstatSync(fd).size;
  const lengthBytes = Buffer.alloc(8);
  if (size < 8 || readSync(fd, lengthBytes, 0, 8, 0) !== 8) fail("shorter than its 8-byte header length");
  const headerLength = Number(lengthBytes.readBigUInt64LE(0));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > size)
    fail(`header length ${headerLength} does not fit in a ${size}-byte file`);
  const headerBytes = Buffer.alloc(headerLength);
  readSync(fd, headerBytes, 0, headerLength, 8);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(headerBytes.toString("utf8")) as Record<string, unknown>;
  } catch (error) {
    return fail(`header is not JSON (${(error as Error).message})`);
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const {
      dtype,
      shape,
      data_offsets: offsets,
    } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!isDtype(dtype)) fail(`tensor ${name} has unknown dtype ${String(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      fail(`tensor ${name} has an invalid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0))
      fail(`tensor ${name} has invalid data_offsets`);
    const [begin, end] = offsets as [number, number];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== elements * DTYPE_BYTES[dtype as Dtype])
      fail(`tensor ${name}: ${end - begin} bytes for shape [${String(shape)}] of ${String(dtype)}`);
    tensors.set(name, {
      name,
      dtype: dtype as Dtype,
      shape: shape as number[],
      begin: dataStart + begin,
      end: dataStart + end,
    });
  }
  const ranges = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = dataStart;
  for (const range of ranges) {
    if (range.begin !== covered)
      fail(range.begin < covered ? `tensor ${range.name} overlaps another` : `a hole before tensor ${range.name}`);
    covered = range.end;
  }
  if (covered !== size) fail(`the data ends at byte ${covered} but the file has ${size}`);

  const readRange = (name: string, begin: number, end: number): Uint8Array => {
    const info = tensors.get(name);
    if (!info) throw new Error(`no tensor ${name} in ${file}`);
    if (begin < 0 || end > info.end - info.begin || begin > end)
      throw new Error(`bytes [${begin}, ${end}) are outside tensor ${name}`);
    const bytes = new Uint8Array(end - begin);
    let read = 0;
    while (read < bytes.length) {
      const got = readSync(fd, bytes, read, bytes.length - read, info.begin + begin + read);
      if (got === 0) throw new Error(`${file} ended inside tensor ${name}`);
      read += got;
    }
    return bytes;
  };
  const readBytes = (name: string): Uint8Array => {
    const info = tensors.get(name);
    if (!info) throw new Error(`no tensor ${name} in ${file}`);
    return readRange(name, 0, info.end - info.begin);
  };
  return {
    file,
    metadata,
    tensors,
    readBytes,
    readRange,
    readFloat32(name) {
      const info = tensors.get(name);
      if (!info || !FLOAT_DTYPES.has(info.dtype))
        throw new Error(`tensor ${name} in ${file} is ${info?.dtype}, not a float type`);
      return bytesToFloat32(readBytes(name), info.dtype);
    },
    close: () => closeSync(fd),
  };
}
