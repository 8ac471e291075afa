import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
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

export interface SetupOptions {
  /** The interpreter that creates the venv (default python3). */
  python?: string;
  /** The package index; default PIP_INDEX_URL, else the first index in pip's configuration, else pip's default. */
  indexUrl?: string;
  /** Requirement files installed with the engine's own, in the same pip call (the test suite adds requirements-test.txt). */
  extraRequirements?: string[];
  onLog?: (line: string) => void;
}

/** Where pip goes when nothing names an index. */
const PIP_DEFAULT_INDEX = "https://pypi.org/simple";

/**
 * Creates python-bridge/.venv for the torch engine and installs requirements.txt (and any
 * `extraRequirements`) into it. The venv sees the system's site-packages, so a torch already
 * installed (a CUDA build, say) is used rather than downloaded again; pip installs from
 * `indexUrl`, else PIP_INDEX_URL, else the first index in pip's own configuration (machines with
 * a local mirror), else pip's default. An index that cannot be reached is one error naming it,
 * not minutes of pip's retries, unless the venv already has everything (then pip runs offline).
 * Ends with the bridge's doctor, so a setup that cannot train is an error, not a silent success.
 */
export async function setupPython(options: SetupOptions = {}): Promise<SetupResult> {
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
  const index = options.indexUrl ?? process.env.PIP_INDEX_URL ?? (await configuredIndex(python));
  const files = [join(BRIDGE_DIR, "requirements.txt"), ...(options.extraRequirements ?? [])];
  const requirements = files.flatMap((file) => ["-r", file]);
  const names = files.map((file) => file.replace(BRIDGE_DIR, "python-bridge/")).join(", ");
  const unreachable = await indexUnreachable(python, index ?? PIP_DEFAULT_INDEX);
  log(`installing ${names}${unreachable ? " (offline: the index cannot be reached)" : index ? ` from ${index}` : ""}`);
  const installed = await execa(
    python,
    ["-m", "pip", "install", "--disable-pip-version-check", ...(unreachable ? ["--no-index"] : []), ...requirements],
    { reject: false, env: index ? { PIP_INDEX_URL: index } : {} },
  );
  if (installed.exitCode !== 0) {
    const pipSaid = installed.stderr.trim().split("\n").slice(-3).join(" | ");
    if (unreachable) {
      throw TuneError.single(
        {
          code: "setup-index-unreachable",
          message: `cannot reach the package index ${index ?? PIP_DEFAULT_INDEX} (${unreachable}), and the venv lacks what pip would fetch from it: ${pipSaid}`,
          hint: "Set PIP_INDEX_URL to an index this machine reaches (or pass --index-url <url>, or run `pip config set global.index-url <url>`), then run again; the venv is kept.",
        },
        ExitCode.environment,
      );
    }
    throw TuneError.single(
      {
        code: "setup-pip",
        message: `pip could not install ${names}: ${pipSaid}`,
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

/**
 * Why pip cannot reach `index`, or null when it can: a file:// index must be a folder; an
 * http(s) one must answer within 10 s (any HTTP status), asked by Python's urllib as pip asks,
 * through the same proxy variables.
 */
async function indexUnreachable(python: string, index: string): Promise<string | null> {
  if (index.startsWith("file:")) {
    const path = fileURLToPath(index);
    return existsSync(path) ? null : `${path} does not exist`;
  }
  const script = [
    "import sys, urllib.request, urllib.error",
    "try:",
    "    urllib.request.urlopen(sys.argv[1], timeout=10).close()",
    "except urllib.error.HTTPError:",
    "    pass",
    "except Exception as error:",
    "    print(getattr(error, 'reason', None) or error)",
    "    sys.exit(1)",
  ].join("\n");
  const probe = await execa(python, ["-c", script, index], { reject: false, timeout: 20_000 });
  if (probe.exitCode === 0) return null;
  return probe.stdout.trim() || (probe.timedOut ? "no answer within 20 s" : (probe.shortMessage ?? "no answer"));
}
