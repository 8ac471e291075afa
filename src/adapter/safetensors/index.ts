export {
  bf16ToFloat32,
  bytesToFloat32,
  DTYPE_BYTES,
  f16ToFloat32,
  float32ToBf16,
  float32ToBytes,
  float32ToF16,
  FLOAT_DTYPES,
  isDtype,
  type Dtype,
} from "./dtypes.js";
export { DEFAULT_SHARD_BYTES, openModelWeights, writeModelWeights, type ModelWeights } from "./model-weights.js";
export { openSafetensors, type SafetensorsFile, type TensorInfo } from "./read-safetensors.js";
export { tensorBytes, writeSafetensors, type TensorChunks, type TensorToWrite } from "./write-safetensors.js";
