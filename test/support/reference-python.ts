import { fileURLToPath } from "node:url";

/**
 * The interpreter of python-bridge/.venv, which `npm test` makes first (scripts/prepare-tests.mjs)
 * with the torch engine's packages and the references tests compare against (transformers, PEFT,
 * scikit-learn, safetensors). The system's python3 need not have any of them.
 */
export const referencePython = fileURLToPath(new URL("../../python-bridge/.venv/bin/python", import.meta.url));
