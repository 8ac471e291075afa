import { findPython } from "./find-python.js";
import { probeGpus, type Gpu } from "./probe-gpus.js";
import { probePython, type PythonProbe } from "./probe-python.js";
import { probeTfjs, type TfjsPackage } from "./probe-tfjs.js";

export interface EngineStatus {
  available: boolean;
  /** What is missing, or what it will use. */
  detail: string;
}

export interface EnvironmentReport {
  node: { version: string; supported: boolean };
  tfjs: TfjsPackage[];
  python: PythonProbe;
  gpus: Gpu[];
  engines: { tfjs: EngineStatus; torch: EngineStatus };
}

const MINIMUM_NODE = [20, 9] as const;

/**
 * What `tune doctor` reports: Node, TensorFlow.js backends, the Python environment of the torch
 * engine, GPUs, and which engines can run here: tfjs always (on whichever TensorFlow.js backend
 * is installed), torch when its Python environment has what the bridge needs.
 */
export async function inspectEnvironment(): Promise<EnvironmentReport> {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const [python, gpus] = await Promise.all([probePython(findPython()), probeGpus()]);
  const tfjs = probeTfjs();
  return {
    node: {
      version: process.versions.node,
      supported: major > MINIMUM_NODE[0] || (major === MINIMUM_NODE[0] && minor >= MINIMUM_NODE[1]),
    },
    tfjs,
    python,
    gpus,
    engines: {
      tfjs: { available: true, detail: tfjsDetail(tfjs) },
      torch: {
        available: python.python !== null && python.missing.length === 0,
        detail:
          python.python === null
            ? `no usable Python (${python.error ?? "unknown error"}); run \`tune setup python\` or set TUNE_PYTHON`
            : python.missing.length > 0
              ? `the Python environment lacks ${python.missing.join(", ")}; run \`tune setup python\``
              : torchDetail(python),
      },
    },
  };
}

function tfjsDetail(packages: TfjsPackage[]): string {
  const native = packages.find((p) => p.name.startsWith("@tensorflow/tfjs-node") && p.version !== null);
  if (native) return `Llama-family and BERT-family models, LoRA; native TensorFlow backend (${native.name})`;
  const wasm = packages.some((p) => p.name === "@tensorflow/tfjs-backend-wasm" && p.version !== null);
  return `Llama-family and BERT-family models, LoRA; ${wasm ? "WebAssembly (SIMD) backend" : "plain JavaScript cpu backend"}`;
}

/** Where the torch engine runs and which optional kernels it will use (packed rows, quantization). */
function torchDetail(python: PythonProbe): string {
  const where = python.cuda?.available ? `CUDA (${python.cuda.devices.join(", ")})` : "the CPU";
  const flash = python.packages.flash_attn && python.cuda?.available;
  return [
    `PyTorch ${python.packages.torch} on ${where}`,
    python.packages.bitsandbytes ? "bitsandbytes for 4/8-bit" : "no bitsandbytes (4/8-bit uses the built-in NF4/int8)",
    flash
      ? `FlashAttention-2 ${python.packages.flash_attn} for attention`
      : "no FlashAttention-2 (packed rows attend example by example through SDPA)",
    python.packages.liger_kernel
      ? `Liger kernels ${python.packages.liger_kernel} installed, not used`
      : "no Liger kernels",
  ].join(", ");
}
