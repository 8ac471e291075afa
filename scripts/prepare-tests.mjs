// What the test suite needs beyond `npm ci`, brought by `npm test` itself before any test runs:
//   - Debian's chromium, which renders report.html in its test: installed with apt-get when
//     running as root; otherwise one message with the exact command, and exit 1;
//   - python-bridge/.venv with the torch engine's packages and the test-only ones
//     (python-bridge/requirements-test.txt: pytest and the references tests compare against),
//     made by the code behind `tune setup python`, from the index pip is given (PIP_INDEX_URL, else
//     pip's configuration). A second run finds everything in place and takes seconds.
//
//   npm run build && node scripts/prepare-tests.mjs
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const CHROMIUM_INSTALL = "apt-get install -y --no-install-recommends chromium";

/**
 * What to do about chromium: nothing when it is on the PATH; as root, the apt-get commands to try
 * in order (the package lists may be stale or missing, so `apt-get update` comes second); else a
 * message with the exact command to run.
 */
export function chromiumPlan({ found, root }) {
  if (found) return { action: "none" };
  if (root)
    return {
      action: "install",
      attempts: [[CHROMIUM_INSTALL], ["apt-get update", CHROMIUM_INSTALL]],
    };
  return {
    action: "refuse",
    message:
      "error: the tests render the HTML report in headless Chromium, and `chromium` is not on the PATH.\n" +
      `    Install Debian's package, then run the tests again:  sudo ${CHROMIUM_INSTALL}`,
  };
}

function sh(command, quiet = false) {
  return spawnSync("sh", ["-c", command], {
    stdio: quiet ? "ignore" : ["ignore", "ignore", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  }).status;
}

function ensureChromium() {
  const plan = chromiumPlan({ found: sh("command -v chromium", true) === 0, root: process.getuid?.() === 0 });
  if (plan.action === "refuse") {
    console.error(plan.message);
    return false;
  }
  if (plan.action === "none") return true;
  for (const attempt of plan.attempts) {
    console.error(`prepare-tests: ${attempt.join(" && ")}`);
    if (attempt.every((command) => sh(`${command} >/dev/null`) === 0) && sh("command -v chromium", true) === 0)
      return true;
  }
  console.error(`error: could not install chromium with apt-get.\n    Run \`${CHROMIUM_INSTALL}\` to see why.`);
  return false;
}

async function ensurePython() {
  const { setupPython } = await import("../dist/engine/torch/setup-python.js");
  const { isTuneError } = await import("../dist/errors/index.js");
  const { formatProblem } = await import("../dist/cli/output.js");
  try {
    const result = await setupPython({
      extraRequirements: [fileURLToPath(new URL("../python-bridge/requirements-test.txt", import.meta.url))],
      onLog: (line) => console.error(`prepare-tests: ${line}`),
    });
    console.error(`prepare-tests: ${result.python} is ready`);
    return true;
  } catch (error) {
    if (!isTuneError(error)) throw error;
    for (const problem of error.problems) console.error(`error: ${formatProblem(problem)}`);
    return false;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = ensureChromium() && (await ensurePython()) ? 0 : 1;
}
