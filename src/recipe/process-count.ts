import type { Recipe } from "./schema.js";

type Distributed = Recipe["distributed"] | null | undefined;

/** Training processes on each node: `processes_per_node`, or `processes`, its name before multi-node training. */
export function processesPerNode(distributed: Distributed): number {
  return distributed?.processes_per_node ?? distributed?.processes ?? 1;
}

/** Training processes over all nodes: what one optimizer step deals its micro-batches out to. */
export function worldSize(distributed: Distributed): number {
  return (distributed?.nodes ?? 1) * processesPerNode(distributed);
}
