import {
  endpointWarning,
  FAIL_FAST_ENV,
  nodeCommand,
  pushesToHub,
  layout,
  type LaunchFile,
  type LaunchInput,
} from "./node-command.js";
import { shellQuote } from "./shell-quote.js";

export interface SlurmInput extends LaunchInput {
  /** Where `npx tune` finds tune installed: the folder the script was written from. */
  workDir: string;
}

/**
 * An sbatch script that runs the recipe on `distributed.nodes` nodes: one task per node, each
 * `tune recipe` starting torchrun with one process per GPU. Every value from the recipe or
 * the flags is one quoted shell word; the job name needs no quoting, since a recipe name is
 * letters, digits, `.`, `_` and `-`.
 */
export function slurmScript(input: SlurmInput): LaunchFile {
  const { recipe } = input;
  const { nodes, processesPerNode } = layout(recipe);
  const warning = endpointWarning(recipe, "the allocation's first node");
  const lines = [
    "#!/bin/bash",
    `#SBATCH --job-name=${recipe.name}`,
    `#SBATCH --nodes=${nodes}`,
    // One `tune recipe` per node: it starts that node's training processes itself.
    "#SBATCH --ntasks-per-node=1",
    `#SBATCH --gpus-per-node=${processesPerNode}`,
    // The submitter's environment (HF_TOKEN among it) reaches the job, whatever the site's default.
    "#SBATCH --export=ALL",
    "set -euo pipefail",
    "",
    "# Written by `tune launch --print slurm`. Submit it with `sbatch` (partition, time and account",
    "# as sbatch options); the recipe, its data and --out must be on a filesystem every node sees.",
  ];
  if (warning) lines.push(`# Warning: ${JSON.stringify(warning)}`);
  lines.push("", `cd -- ${shellQuote(input.workDir)}`, "");
  if (pushesToHub(recipe))
    lines.push(
      "# The recipe pushes to the Hub at the end: stop now, not after training, when there is no token.",
      "# The token itself is never written here; export HF_TOKEN before sbatch.",
      'if [[ -z "${HF_TOKEN:-}" ]]; then',
      `  echo "error: the recipe pushes to the Hugging Face Hub (its hub: section), but HF_TOKEN is not set; export it before sbatch, which passes it on to the job" >&2`,
      "  exit 4",
      "fi",
    );
  else lines.push("# HF_TOKEN, for a private model or dataset, comes from the submitter's environment.");
  lines.push(
    "# The Hub cache on shared storage: the nodes download the base model and datasets once.",
    `export HF_HOME=${shellQuote(input.hfHome)}`,
    "",
    "# When the nodes have several network interfaces, name the one they reach each other on",
    "# (GLOO_SOCKET_IFNAME as well for training on CPUs):",
    "# export NCCL_SOCKET_IFNAME=ib0",
    "# export NCCL_DEBUG=WARN",
    "# A node that dies ends the job instead of leaving the others waiting for it:",
    ...Object.entries(FAIL_FAST_ENV).map(([name, value]) => `export ${name}=${value}`),
    "",
    // SLURM_NODEID gives each task its rank, SLURM_JOB_NODELIST node 0's host; --kill-on-bad-exit
    // ends the other nodes' tasks when one fails.
    `srun --ntasks-per-node=1 --kill-on-bad-exit=1 ${nodeCommand(input).map(shellQuote).join(" ")}`,
  );
  return { text: `${lines.join("\n")}\n`, warnings: warning ? [warning] : [] };
}
