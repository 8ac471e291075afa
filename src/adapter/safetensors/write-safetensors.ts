import { writeFileAtomic } from "../../files/index.js";
import { DTYPE_BYTES, type Dtype } from "./dtypes.js";

/** Produces a tensor's bytes in order, a chunk at a time, so a tensor never needs to be whole in memory. */
export type TensorChunks = (append: (chunk: Uint8Array) => void) => void;

export interface TensorToWrite {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Little-endian bytes of the tensor (any typed array view of them), or a producer of them. */
  data: ArrayBufferView | TensorChunks;
}

export function tensorBytes(tensor: Pick<TensorToWrite, "dtype" | "shape">): number {
  return tensor.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[tensor.dtype];
}

/**
 * Writes a safetensors file as the reference writer does: `{"format": "pt"}` metadata (which
 * transformers requires), the header padded with spaces to a multiple of 8, tensors laid out
 * by dtype size (largest first) then name, so every tensor is aligned. Written atomically;
 * streamed tensors are checked to produce exactly their size.
 */
export function writeSafetensors(
  file: string,
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = { format: "pt" },
): void {
  const ordered = [...tensors].sort(
    (a, b) => DTYPE_BYTES[b.dtype] - DTYPE_BYTES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const tensor of ordered) {
    const bytes = tensorBytes(tensor);
    if (typeof tensor.data !== "function" && tensor.data.byteLength !== bytes)
      throw new Error(
        `tensor ${tensor.name}: ${tensor.data.byteLength} bytes for shape [${tensor.shape}] of ${tensor.dtype}`,
      );
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileAtomic(file, (append) => {
    append(length);
    append(Buffer.from(json));
    for (const tensor of ordered) {
      const { data } = tensor;
      if (typeof data !== "function") {
        append(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        continue;
      }
      let produced = 0;
      data((chunk) => {
        produced += chunk.byteLength;
        append(chunk);
      });
      if (produced !== tensorBytes(tensor))
        throw new Error(`tensor ${tensor.name}: produced ${produced} bytes, expected ${tensorBytes(tensor)}`);
    }
  });
}
