import { LORA_KERNEL_WASM } from "./lora-kernel-wasm.js";

/** The part of the WebAssembly API used here (Node has it; the project's type libraries leave it out). */
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
const { Module, Instance } = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface KernelExports {
  memory: WasmMemory;
  lora_bf16(w: number, rows: number, cols: number, coef: number, basis: number, rank: number): void;
  lora_f32(w: number, rows: number, cols: number, coef: number, basis: number, rank: number): void;
}

const PAGE = 65536;
let kernel: KernelExports | undefined;

function instance(): KernelExports {
  kernel ??= new Instance(new Module(Buffer.from(LORA_KERNEL_WASM, "base64"))).exports as KernelExports;
  return kernel;
}

function ensureBytes(memory: WasmMemory, bytes: number): void {
  const missing = bytes - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / PAGE));
}

/** What each row of W gets added: Σ_k coef[i,k]·basis[k,:], with the LoRA scale folded into coef. */
export interface LowRankDelta {
  /** [rows, rank] */
  coef: Float32Array;
  /** [rank, cols] */
  basis: Float32Array;
  rank: number;
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

function bf16Value(bits: number): number {
  scratchBits[0] = bits << 16;
  return scratch[0] as number;
}

function bf16Bits(value: number): number {
  scratch[0] = value;
  const x = scratchBits[0] as number;
  return (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

let basisInHeap: Float32Array | undefined;

/**
 * Rows [r0, r0 + n) of W (n rows of `cols`, bf16 or float32) plus those rows of coef·basis,
 * computed by the SIMD kernel in its memory. Returns a view of the result there, valid until the
 * next call. Columns past the last multiple of 16 are summed here in the same order and precision.
 */
export function addLowRank(
  w: Uint16Array | Float32Array,
  r0: number,
  cols: number,
  delta: LowRankDelta,
): Uint16Array | Float32Array {
  const { memory, lora_bf16, lora_f32 } = instance();
  const rows = w.length / cols;
  const { rank, basis } = delta;
  const coef = delta.coef.subarray(r0 * rank, (r0 + rows) * rank);
  const coefAt = basis.byteLength;
  const wAt = Math.ceil((coefAt + coef.byteLength) / 16) * 16;
  ensureBytes(memory, wAt + w.byteLength);
  const heap = new Uint8Array(memory.buffer);
  // The basis is the same for every piece of a tensor: copied once per tensor.
  if (basisInHeap !== basis) {
    heap.set(new Uint8Array(basis.buffer, basis.byteOffset, basis.byteLength), 0);
    basisInHeap = basis;
  }
  heap.set(new Uint8Array(coef.buffer, coef.byteOffset, coef.byteLength), coefAt);
  heap.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength), wAt);
  const bf16 = w instanceof Uint16Array;
  (bf16 ? lora_bf16 : lora_f32)(wAt, rows, cols, coefAt, 0, rank);
  const out = bf16 ? new Uint16Array(memory.buffer, wAt, w.length) : new Float32Array(memory.buffer, wAt, w.length);
  for (let i = 0; i < rows; i++) {
    for (let j = cols & ~15; j < cols; j++) {
      let sum = bf16 ? bf16Value(out[i * cols + j] as number) : (out[i * cols + j] as number);
      for (let k = 0; k < rank; k++)
        sum = Math.fround(sum + Math.fround((coef[i * rank + k] as number) * (basis[k * cols + j] as number)));
      out[i * cols + j] = bf16 ? bf16Bits(sum) : sum;
    }
  }
  return out;
}
