import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** python-bridge/ of this installation (beside src/ and dist/). */
export const BRIDGE_DIR = fileURLToPath(new URL("../../python-bridge/", import.meta.url));

export interface PythonChoice {
  command: string;
  /** Why this interpreter: the variable, the bridge's venv, or the PATH fallback. */
  source: "TUNE_PYTHON" | "python-bridge/.venv" | "PATH";
}

/** The interpreter the torch engine uses: TUNE_PYTHON, then python-bridge/.venv, then python3. */
export function findPython(env: NodeJS.ProcessEnv = process.env): PythonChoice {
  if (env.TUNE_PYTHON) return { command: env.TUNE_PYTHON, source: "TUNE_PYTHON" };
  const venv = `${BRIDGE_DIR}.venv/bin/python`;
  if (existsSync(venv)) return { command: venv, source: "python-bridge/.venv" };
  return { command: "python3", source: "PATH" };
}
