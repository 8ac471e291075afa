import { processesPerNode, type LoadedRecipe } from "../recipe/index.js";

/** What a launch file is written from: the recipe as loaded here and where its run goes. */
export interface LaunchInput {
  recipe: LoadedRecipe["recipe"];
  /** The recipe file as every node sees it. */
  recipeFile: string;
  /** The output root every node sees; node 0 writes the run directory under it. */
  out: string;
  /** HF_HOME on shared storage, so the nodes download the base model and datasets once. */
  hfHome: string;
}

/** A script or manifest, and what the user should know about it before submitting. */
export interface LaunchFile {
  text: string;
  warnings: string[];
}

/**
 * The same command on every node: the rank and node 0's address come from the cluster's
 * environment (SLURM_NODEID and SLURM_JOB_NODELIST, or the operator's PET_* variables).
 */
export function nodeCommand({ recipeFile, out }: LaunchInput): string[] {
  return ["npx", "tune", "recipe", recipeFile, "--out", out];
}

export function layout(recipe: LaunchInput["recipe"]): { nodes: number; processesPerNode: number } {
  return { nodes: recipe.distributed?.nodes ?? 1, processesPerNode: processesPerNode(recipe.distributed) };
}

/**
 * Without it the NCCL watchdog may leave the survivors of a dead node waiting in a collective;
 * with it they abort the communicator and exit, so the job ends. TORCH_NCCL_BLOCKING_WAIT is
 * left unset: it would take precedence and make every collective wait on the CPU.
 */
export const FAIL_FAST_ENV = { TORCH_NCCL_ASYNC_ERROR_HANDLING: "1" } as const;

/** A push to the Hub needs HF_TOKEN; anything else runs without it (public models and data). */
export function pushesToHub(recipe: LaunchInput["recipe"]): boolean {
  return recipe.hub !== undefined;
}

/**
 * A recipe's endpoint overrides the cluster's node 0 on every node, and the cluster decides
 * which host that is only when the job starts.
 */
export function endpointWarning(recipe: LaunchInput["recipe"], clusterNode0: string): string | null {
  const endpoint = recipe.distributed?.rendezvous?.endpoint;
  if (endpoint === undefined) return null;
  return `the recipe names distributed.rendezvous.endpoint ${endpoint}, which every node uses instead of ${clusterNode0}; unless that is certain to be node 0, leave the endpoint unset in the recipe`;
}
