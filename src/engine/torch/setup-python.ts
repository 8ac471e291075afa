import { existsSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { ExitCode, TuneError } from "../../errors/index.js";
import { BRIDGE_DIR } from "../find-python.js";
import { probePython } from "../probe-python.js";

export interface SetupResult {
  venv: string;
  python: string;
  /** The index pip installed from (the machine's configured mirror, or pip's default). */
  index: string | null;
  packages: Record<string, string | null>;
  created: boolean;
}

/**
 * Creates python-bridge/.venv for the torch engine and installs requirements.txt into it. The
 * venv sees the system's site-packages, so a torch already installed (a CUDA build, say) is used
 * rather than downloaded again; pip installs from `indexUrl`, else from the first index in pip's
 * own configuration (machines with a local mirror), else pip's default. Ends with the bridge's
 * doctor, so a setup that cannot train is an error, not a silent success.
 */
export async function setupPython(
  options: { python?: string; indexUrl?: string; onLog?: (line: string) => void } = {},
): Promise<SetupResult> {
  const venv = join(BRIDGE_DIR, ".venv");
  const python = join(venv, "bin", "python");
  const created = !existsSync(python);
  const log = options.onLog ?? (() => {});
  if (created) {
    log(`creating ${venv}`);
    const made = await execa(options.python ?? "python3", ["-m", "venv", "--system-site-packages", venv], {
      reject: false,
    });
    if (made.exitCode !== 0) {
      throw TuneError.single(
        {
          code: "setup-venv",
          message: `could not create ${venv}: ${made.stderr.trim().split("\n").pop() ?? made.shortMessage}`,
          hint: "Install Python 3.9+ with its venv module (Debian: apt-get install python3-venv), or pass --python <interpreter>.",
        },
        ExitCode.environment,
      );
    }
  }
  const index = options.indexUrl ?? (await configuredIndex(python));
  log(`installing python-bridge/requirements.txt${index ? ` from ${index}` : ""}`);
  const installed = await execa(
    python,
    ["-m", "pip", "install", "--disable-pip-version-check", "-r", join(BRIDGE_DIR, "requirements.txt")],
    { reject: false, env: index ? { PIP_INDEX_URL: index } : {} },
  );
  if (installed.exitCode !== 0) {
    throw TuneError.single(
      {
        code: "setup-pip",
        message: `pip could not install the torch engine's requirements: ${installed.stderr.trim().split("\n").slice(-3).join(" | ")}`,
        hint: "Check that pip can reach a package index (--index-url <url> names one), then run `tune setup python` again; the venv is kept.",
      },
      ExitCode.environment,
    );
  }
  const probe = await probePython({ command: python, source: "python-bridge/.venv" });
  if (probe.python === null || probe.missing.length > 0) {
    throw TuneError.single(
      {
        code: "setup-incomplete",
        message: `the venv at ${venv} still cannot train: ${probe.error ?? `missing ${probe.missing.join(", ")}`}`,
        hint: "Run `tune doctor` to see what the interpreter has.",
      },
      ExitCode.environment,
    );
  }
  return { venv, python, index, packages: probe.packages, created };
}

/** The first index pip is configured with (index-url, else extra-index-url), if any. */
async function configuredIndex(python: string): Promise<string | null> {
  for (const key of ["global.index-url", "global.extra-index-url"]) {
    const result = await execa(python, ["-m", "pip", "config", "get", key], { reject: false });
    const first = result.exitCode === 0 ? result.stdout.trim().split(/\s+/)[0] : undefined;
    if (first) return first;
  }
  return null;
}
