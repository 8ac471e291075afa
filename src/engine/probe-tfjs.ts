import { createRequire } from "node:module";

/** TensorFlow.js packages in the order the tfjs engine prefers them as backends. */
const TFJS_PACKAGES = [
  "@tensorflow/tfjs-node-gpu",
  "@tensorflow/tfjs-node",
  "@tensorflow/tfjs-backend-wasm",
  "@tensorflow/tfjs-core",
];

export interface TfjsPackage {
  name: string;
  version: string | null;
}

/** Which TensorFlow.js packages this installation can import, with versions. */
export function probeTfjs(): TfjsPackage[] {
  const require = createRequire(import.meta.url);
  return TFJS_PACKAGES.map((name) => {
    try {
      const manifest = require(`${name}/package.json`) as { version: string };
      return { name, version: manifest.version };
    } catch {
      return { name, version: null };
    }
  });
}
