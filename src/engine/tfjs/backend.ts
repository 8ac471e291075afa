import { createRequire } from "node:module";
import { dirname } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// tfjs-core's Node build registers no gradients, and its ESM gradient files cannot be loaded
// by Node; the @tensorflow/tfjs bundle registers them all in tfjs-core's global registry.
import "@tensorflow/tfjs";

export type TfjsBackend = "tensorflow" | "wasm" | "cpu";

/**
 * Picks the fastest TensorFlow.js backend this machine has: the native TensorFlow bindings
 * when the user installed @tensorflow/tfjs-node(-gpu), else WebAssembly (SIMD), else the plain
 * JS cpu backend. `prefer` forces one (tests run both wasm and cpu).
 */
export async function selectBackend(prefer?: TfjsBackend): Promise<TfjsBackend> {
  // Production mode: no debug checks, and no console banner urging tfjs-node (tune reports the backend itself).
  tf.env().set("PROD", true);
  const require = createRequire(import.meta.url);
  const candidates: TfjsBackend[] = prefer ? [prefer] : ["tensorflow", "wasm", "cpu"];
  for (const backend of candidates) {
    try {
      if (backend === "tensorflow") {
        try {
          require("@tensorflow/tfjs-node-gpu");
        } catch {
          require("@tensorflow/tfjs-node");
        }
      }
      if (backend === "wasm") {
        const wasm = (await import("@tensorflow/tfjs-backend-wasm")) as { setWasmPaths(prefix: string): void };
        wasm.setWasmPaths(`${dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"))}/`);
      }
      if (await quietly(() => tf.setBackend(backend))) {
        await tf.ready();
        return backend;
      }
    } catch {
      // not installed or failed to start: try the next one
    }
  }
  throw new Error("no TensorFlow.js backend could start");
}

/** The cpu backend advertises tfjs-node with console.warn when it starts; only the CLI prints. */
async function quietly<T>(run: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes("tfjs-node")) warn(...args);
  };
  try {
    return await run();
  } finally {
    console.warn = warn;
  }
}
