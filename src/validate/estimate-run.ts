import type { PreparedData } from "../data/index.js";
import { estimateMemory, fitsGpu, probeGpus, type Gpu, type MemoryEstimate } from "../engine/index.js";
import { worldSize, type RunPlan } from "../recipe/index.js";

export type Strategy = "ddp" | "fsdp";

export interface RunEstimate {
  estimate: MemoryEstimate;
  /**
   * The GPUs here: whether the run as the recipe has it fits each (one process, or its strategy
   * over its processes), and each way of spreading it that would fit (empty: the torch engine
   * would use the CPU).
   */
  gpus: Array<Gpu & { fits: boolean; fitsWith: Array<{ strategy: Strategy; processes: number }> }>;
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
  const spread = estimate.perGpu.flatMap(({ processes, ddp, fsdp }) => [
    { strategy: "ddp" as const, processes, bytes: ddp },
    ...(fsdp === null ? [] : [{ strategy: "fsdp" as const, processes, bytes: fsdp }]),
  ]);
  const strategy = plan.distributed?.strategy ?? "ddp";
  const asWritten =
    worldSize(plan.distributed) > 1
      ? (spread.find((s) => s.strategy === strategy)?.bytes ?? estimate.bytes.total)
      : estimate.bytes.total;
  const gpus = (await probeGpus()).map((gpu) => {
    const memory = gpu.memoryMiB * 2 ** 20;
    return {
      ...gpu,
      fits: fitsGpu(asWritten, memory),
      fitsWith: spread
        .filter((s) => fitsGpu(s.bytes, memory))
        .map(({ strategy: way, processes }) => ({ strategy: way, processes })),
    };
  });
  return { estimate, gpus };
}
