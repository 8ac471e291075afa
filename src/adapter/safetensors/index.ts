export { bf16ToFloat32, DTYPE_BYTES, f16ToFloat32, float32ToBf16, float32ToF16, isDtype, type Dtype } from "./dtypes.js";
export { DEFAULT_SHARD_BYTES, openModelWeights, writeModelWeights, type ModelWeights } from "./model-weights.js";
export { openSafetensors, type SafetensorsFile, type TensorInfo } from "./read-safetensors.js";
export { writeSafetensors, type TensorToWrite } from "./write-safetensors.js";
