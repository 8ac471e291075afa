import { float32ToBf16, float32ToF16, type TensorToWrite } from "../../src/adapter/index.js";

/** One tensor of every dtype tune writes, from the same 24 values. */
export const values = Float32Array.from({ length: 24 }, (_, i) => (i - 12) / 7);
export const TENSORS: TensorToWrite[] = [
  { name: "model.embed.weight", dtype: "F32", shape: [4, 6], data: values },
  { name: "model.norm.weight", dtype: "BF16", shape: [24], data: float32ToBf16(values) },
  { name: "lm_head.weight", dtype: "F16", shape: [2, 12], data: float32ToF16(values) },
  { name: "position_ids", dtype: "I64", shape: [3], data: BigInt64Array.from([0n, 1n, -7n]) },
  { name: "mask", dtype: "U8", shape: [5], data: Uint8Array.from([1, 0, 1, 1, 0]) },
];
