import { runBridge } from "../engine/torch/index.js";
import { ExitCode, TuneError, isTuneError } from "../errors/index.js";
import type { RunPlan } from "../recipe/index.js";

export interface EngineChoice {
  name: "tfjs" | "torch";
  /** Said in the run's first lines: why this engine. */
  why: string;
}

/** What the bridge's `doctor` says about its Python environment, or why it could not say. */
async function bridgeStatus(): Promise<{ usable: boolean; detail: string }> {
  try {
    const run = await runBridge(["doctor"]);
    const report = run.events.find((e) => e.type === "doctor") as { packages?: Record<string, string | null>; capabilities?: { train?: boolean }; cuda?: { available?: boolean } } | undefined;
    if (!report) return { usable: false, detail: run.error?.message ?? run.stderrTail ?? "no report" };
    const packages = report.packages ?? {};
    if (!report.capabilities?.train) {
      const missing = Object.entries(packages).filter(([name, version]) => version === null && name !== "bitsandbytes" && name !== "accelerate").map(([name]) => name);
      return { usable: false, detail: `missing ${missing.join(", ")}` };
    }
    return { usable: true, detail: `torch ${packages.torch}, transformers ${packages.transformers}, peft ${packages.peft}${report.cuda?.available ? ", CUDA" : ", CPU"}` };
  } catch (error) {
    if (isTuneError(error)) return { usable: false, detail: error.problems[0]?.message ?? "the bridge did not start" };
    throw error;
  }
}

/**
 * The engine a plan trains on: the recipe's choice, or for `auto` the torch engine whenever its
 * Python environment works (far faster than TensorFlow.js even on a CPU), else tfjs. A recipe
 * that asks for torch without a working environment is refused (exit 4) with what is missing.
 */
export async function chooseEngine(plan: RunPlan): Promise<EngineChoice> {
  if (plan.engine === "tfjs") return { name: "tfjs", why: "the recipe asks for it" };
  const status = await bridgeStatus();
  if (plan.engine === "torch") {
    if (status.usable) return { name: "torch", why: `the recipe asks for it; ${status.detail}` };
    throw TuneError.single(
      { code: "engine-missing", message: `the recipe asks for the torch engine, but its Python environment is not usable: ${status.detail}`, hint: "Run `tune setup python` (creates python-bridge/.venv from the pinned requirements), or set TUNE_PYTHON to an interpreter that has them; `tune doctor` shows what is found." },
      ExitCode.environment,
    );
  }
  return status.usable ? { name: "torch", why: `auto: the torch engine's Python environment works (${status.detail})` } : { name: "tfjs", why: `auto: the torch engine is not usable here (${status.detail})` };
}
