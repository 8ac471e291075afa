import { execa } from "execa";
import type { PythonChoice } from "./find-python.js";

export interface PythonProbe {
  interpreter: PythonChoice;
  /** Python's version, or null when the interpreter does not start. */
  python: string | null;
  /** Version of each package the torch engine uses; null when not importable. */
  packages: Record<string, string | null>;
  cuda: { available: boolean; devices: string[] } | null;
  error: string | null;
}

const PACKAGES = ["torch", "transformers", "peft", "accelerate", "safetensors", "numpy", "tokenizers", "bitsandbytes"];

// Imports each package in isolation so one broken install does not hide the others.
const SCRIPT = `
import importlib, json, sys
out = {"python": sys.version.split()[0], "packages": {}, "cuda": None}
for name in ${JSON.stringify(PACKAGES)}:
    try:
        out["packages"][name] = getattr(importlib.import_module(name), "__version__", "unknown")
    except Exception:
        out["packages"][name] = None
if out["packages"].get("torch"):
    import torch
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    out["cuda"] = {"available": n > 0, "devices": [torch.cuda.get_device_name(i) for i in range(n)]}
print(json.dumps(out))
`;

/** Asks the interpreter which of the torch engine's packages it has. Never throws. */
export async function probePython(interpreter: PythonChoice): Promise<PythonProbe> {
  const result = await execa(interpreter.command, ["-c", SCRIPT], { reject: false, timeout: 120_000 });
  if (result.exitCode !== 0 || result.failed) {
    const reason = result.stderr?.trim().split("\n").pop() || result.shortMessage || "did not start";
    return { interpreter, python: null, packages: {}, cuda: null, error: reason };
  }
  const parsed = JSON.parse(result.stdout) as Omit<PythonProbe, "interpreter" | "error">;
  return { interpreter, ...parsed, error: null };
}
