import { isTuneError } from "../errors/index.js";
import type { PythonChoice } from "./find-python.js";
import { runBridge } from "./torch/bridge-process.js";

export interface PythonProbe {
  interpreter: PythonChoice;
  /** Python's version, or null when the interpreter does not start. */
  python: string | null;
  /** Version of each package the torch engine uses; null when not importable. */
  packages: Record<string, string | null>;
  /** Packages the torch engine cannot train without that are not importable. */
  missing: string[];
  cuda: { available: boolean; devices: string[] } | null;
  error: string | null;
}

interface DoctorReport {
  python: string;
  packages: Record<string, string | null>;
  missing: string[];
  cuda: { available: boolean; devices: Array<{ name: string }> } | null;
}

/**
 * What the bridge's own `doctor` reports about an interpreter's packages and GPUs. Never throws
 * for a broken interpreter. `installedOnly` reads versions from installed metadata, importing
 * torch alone (about 1.5 s instead of 6): enough to choose an engine before a run, while
 * `tune doctor` imports each package, so that a broken install shows.
 */
export async function probePython(interpreter: PythonChoice, installedOnly = false): Promise<PythonProbe> {
  try {
    const run = await runBridge(["doctor", ...(installedOnly ? ["--installed-only"] : [])], { python: interpreter });
    const report = run.events.find((e) => e.type === "doctor") as unknown as DoctorReport | undefined;
    if (!report)
      return {
        interpreter,
        python: null,
        packages: {},
        missing: [],
        cuda: null,
        error: run.error?.message ?? (run.stderrTail || "the bridge wrote no report"),
      };
    return {
      interpreter,
      python: report.python,
      packages: report.packages,
      missing: report.missing,
      cuda: report.cuda && { available: report.cuda.available, devices: report.cuda.devices.map((d) => d.name) },
      error: null,
    };
  } catch (error) {
    if (!isTuneError(error)) throw error;
    return {
      interpreter,
      python: null,
      packages: {},
      missing: [],
      cuda: null,
      error: error.problems[0]?.message ?? "did not start",
    };
  }
}
