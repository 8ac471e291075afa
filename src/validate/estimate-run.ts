import type { PreparedData } from "../data/index.js";
import { estimateMemory, fitsGpu, probeGpus, type Gpu, type MemoryEstimate } from "../engine/index.js";
import type { RunPlan } from "../recipe/index.js";

export interface RunEstimate {
  estimate: MemoryEstimate;
  /** The GPUs here and whether the run fits each (empty: the torch engine would use the CPU). */
  gpus: Array<Gpu & { fits: boolean }>;
}

/**
 * The torch engine's memory and time estimate for a plan whose data is prepared, with a
 * go/no-go for each GPU present; null for the tfjs engine, or when the train split is missing.
 */
export async function estimateRun(
  plan: RunPlan,
  modelDir: string,
  prepared: PreparedData,
): Promise<RunEstimate | null> {
  const train = prepared.splits.train?.manifest.stats;
  if (plan.engine === "tfjs" || !train) return null;
  const estimate = estimateMemory(plan, modelDir, train);
  const gpus = (await probeGpus()).map((gpu) => ({ ...gpu, fits: fitsGpu(estimate, gpu.memoryMiB * 2 ** 20) }));
  return { estimate, gpus };
}
