import { checkpointEngine } from "../checkpoint/index.js";
import type { EngineName } from "./engine.js";
import { findPython } from "./find-python.js";
import { probePython } from "./probe-python.js";
import { ExitCode, TuneError } from "../errors/index.js";
import type { RunPlan } from "../recipe/index.js";

export interface EngineChoice {
  name: EngineName;
  /** Said in the run's first lines: why this engine. */
  why: string;
}

/** Whether the torch engine's Python environment can train, from the bridge's own doctor (its
 * quick form: a package that is installed but broken fails the run with Python's own error). */
async function bridgeStatus(): Promise<{ usable: boolean; detail: string }> {
  const probe = await probePython(findPython(), true);
  if (probe.python === null) return { usable: false, detail: probe.error ?? "the bridge did not start" };
  if (probe.missing.length > 0) return { usable: false, detail: `missing ${probe.missing.join(", ")}` };
  const { packages } = probe;
  return {
    usable: true,
    detail: `torch ${packages.torch}, transformers ${packages.transformers}, peft ${packages.peft}${probe.cuda?.available ? ", CUDA" : ", CPU"}`,
  };
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
      {
        code: "engine-missing",
        message: `the recipe asks for the torch engine, but its Python environment is not usable: ${status.detail}`,
        hint: "Run `tune setup python` (creates python-bridge/.venv from the pinned requirements), or set TUNE_PYTHON to an interpreter that has them; `tune doctor` shows what is found.",
      },
      ExitCode.environment,
    );
  }
  return status.usable
    ? { name: "torch", why: `auto: the torch engine's Python environment works (${status.detail})` }
    : { name: "tfjs", why: `auto: the torch engine is not usable here (${status.detail})` };
}

/**
 * The engine that continues a run: the one that wrote the checkpoint it resumes from, since only
 * that engine can read its optimizer state. A recipe on `auto` follows the checkpoint; one that
 * names the other engine is refused (exit 2), and so is a torch-written run where the torch
 * engine is not usable here (exit 4), rather than handing it to an engine that cannot continue it.
 */
export function engineForResume(choice: EngineChoice, plan: RunPlan, checkpoint: string): EngineChoice {
  const recorded = checkpointEngine(checkpoint);
  if (recorded === choice.name) return choice;
  if (plan.engine === "auto" && recorded === "tfjs")
    return { name: "tfjs", why: `resuming ${checkpoint}, which the tfjs engine wrote` };
  if (plan.engine === "auto") {
    throw TuneError.single(
      {
        code: "resume-engine-missing",
        message: `${checkpoint} was written by the torch engine, which cannot run here (${choice.why}), and the tfjs engine cannot continue from its optimizer state`,
        hint: "Run `tune setup python` (or set TUNE_PYTHON) and run the same command again to resume, or pass --restart to start over on the tfjs engine.",
      },
      ExitCode.environment,
    );
  }
  throw TuneError.single(
    {
      code: "resume-engine-changed",
      message: `${checkpoint} was written by the ${recorded} engine, but the recipe asks for ${plan.engine}: one engine cannot continue from the other's optimizer state`,
      location: { file: plan.recipe.file },
      hint: `Set engine: ${recorded} (or auto) to resume, or pass --restart to start over.`,
    },
    ExitCode.user,
  );
}
