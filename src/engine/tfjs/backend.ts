import { createRequire } from "node:module";
import { dirname } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";

export type TfjsBackend = "tensorflow" | "wasm" | "cpu";

/**
 * Picks the fastest TensorFlow.js backend this machine has: the native TensorFlow bindings
 * when the user installed @tensorflow/tfjs-node(-gpu), else WebAssembly (SIMD), else the plain
 * JS cpu backend. `prefer` forces one (tests run both wasm and cpu).
 */
export async function selectBackend(prefer?: TfjsBackend): Promise<TfjsBackend> {
  // Otherwise the cpu backend prints an advertisement for tfjs-node; only the CLI prints.
  tf.env().set("IS_TEST", true);
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
      if (await tf.setBackend(backend)) {
        await tf.ready();
        return backend;
      }
    } catch {
      // not installed or failed to start: try the next one
    }
  }
  throw new Error("no TensorFlow.js backend could start");
}
