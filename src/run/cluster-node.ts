import { ExitCode, TuneError } from "../errors/index.js";
import type { ClusterNode } from "../engine/index.js";
import { DEFAULT_RENDEZVOUS_PORT, type RunPlan } from "../recipe/index.js";
import { expandHostlist } from "./slurm-hostlist.js";

/**
 * This machine's node in a multi-node run (null for one node). The rank comes from
 * `--node-rank`, else the cluster: Kubeflow's PyTorchJob sets torchrun's PET_NODE_RANK, Slurm
 * SLURM_NODEID. The endpoint comes from the recipe, else from PET_MASTER_ADDR or the first host
 * of SLURM_JOB_NODELIST, so one sbatch script or manifest serves every node.
 */
export function clusterNode(
  plan: Pick<RunPlan, "distributed" | "recipe">,
  nodeRankFlag: string | undefined,
  env: NodeJS.ProcessEnv,
): ClusterNode | null {
  const nodes = plan.distributed?.nodes ?? 1;
  const refuse = (message: string, hint: string, field?: string) =>
    TuneError.single(
      { code: "cluster-node", message, hint, ...(field ? { field, location: { file: plan.recipe.file } } : {}) },
      ExitCode.user,
    );
  const [rankText, rankFrom] =
    nodeRankFlag !== undefined
      ? [nodeRankFlag, "--node-rank"]
      : env.PET_NODE_RANK !== undefined
        ? [env.PET_NODE_RANK, "PET_NODE_RANK"]
        : [env.SLURM_NODEID, "SLURM_NODEID"];
  if (nodes === 1) {
    if (nodeRankFlag !== undefined && nodeRankFlag !== "0")
      throw refuse(
        `--node-rank ${nodeRankFlag} names a node of a multi-node run, but the recipe trains on one node`,
        "Set `distributed.nodes` in the recipe to the number of machines, or drop --node-rank.",
        "distributed.nodes",
      );
    return null;
  }
  if (rankText === undefined)
    throw refuse(
      `the recipe trains on ${nodes} nodes, and nothing says which one this machine is`,
      "Pass --node-rank <0..nodes-1> (the same command on every machine, each with its own rank), or run under Slurm (SLURM_NODEID) or a Kubeflow PyTorchJob (PET_NODE_RANK).",
    );
  const rank = /^\d+$/.test(rankText.trim()) ? Number(rankText.trim()) : NaN;
  if (!(rank < nodes))
    throw refuse(
      `${rankFrom} is ${JSON.stringify(rankText)}, but a node rank is a whole number from 0 to ${nodes - 1} (the recipe has distributed.nodes ${nodes})`,
      "Give each machine its own rank, 0 for the one that hosts the rendezvous and writes the run directory.",
    );
  if (rankFrom === "SLURM_NODEID" && env.SLURM_NNODES !== undefined && Number(env.SLURM_NNODES) !== nodes)
    throw refuse(
      `the Slurm job has ${env.SLURM_NNODES} nodes (SLURM_NNODES) but the recipe trains on ${nodes}`,
      `Ask sbatch for --nodes=${nodes}, or set distributed.nodes to ${env.SLURM_NNODES}.`,
      "distributed.nodes",
    );
  if (rankFrom === "PET_NODE_RANK" && env.PET_NNODES !== undefined && Number(env.PET_NNODES) !== nodes)
    throw refuse(
      `the PyTorchJob has ${env.PET_NNODES} nodes (PET_NNODES) but the recipe trains on ${nodes}`,
      `Give the job ${nodes} replicas in all (\`tune launch --print kubernetes\` writes them), or set distributed.nodes to ${env.PET_NNODES}.`,
      "distributed.nodes",
    );
  return {
    rank,
    nodes,
    rankFrom,
    endpoint: endpoint(plan, env),
    timeoutS: plan.distributed?.rendezvous?.timeout_s ?? 300,
  };
}

function endpoint(plan: Pick<RunPlan, "distributed">, env: NodeJS.ProcessEnv): string {
  const given = plan.distributed?.rendezvous?.endpoint;
  if (given) return given;
  if (env.PET_MASTER_ADDR) return `${env.PET_MASTER_ADDR}:${env.PET_MASTER_PORT ?? DEFAULT_RENDEZVOUS_PORT}`;
  const first = env.SLURM_JOB_NODELIST ? expandHostlist(env.SLURM_JOB_NODELIST)[0] : undefined;
  if (first) return `${first}:${DEFAULT_RENDEZVOUS_PORT}`;
  throw TuneError.single(
    {
      code: "cluster-node",
      message:
        "the recipe trains on several nodes but names no rendezvous endpoint, and no cluster environment gives one",
      field: "distributed.rendezvous.endpoint",
      hint: "Set `distributed.rendezvous.endpoint: <node 0's host>:<port>`, the same on every node (Slurm and Kubeflow supply it themselves).",
    },
    ExitCode.user,
  );
}
