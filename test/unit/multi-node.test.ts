import { describe, expect, it } from "vitest";
import { bridgeCommand, rendezvousFailure } from "../../src/engine/torch/bridge-process.js";
import { RecipeSchema } from "../../src/recipe/index.js";
import { clusterNode } from "../../src/run/cluster-node.js";
import { processCountHint } from "../../src/run/process-count-hint.js";
import { expandHostlist } from "../../src/run/slurm-hostlist.js";

const plan = (distributed: Record<string, unknown>) => ({
  recipe: { file: "r.yaml" } as never,
  distributed: { strategy: "ddp" as const, nodes: 1, ...distributed },
});
const NODE = { rank: 1, nodes: 2, endpoint: "n01:29500", timeoutS: 9, rankFrom: "--node-rank" };

describe("multi-node training: where each node stands", () => {
  it("expands Slurm host lists as scontrol does: ranges keep their padding, groups combine", () => {
    expect(expandHostlist("gpu[01-03,7],login-a")).toEqual(["gpu01", "gpu02", "gpu03", "gpu7", "login-a"]);
    expect(expandHostlist("rack[1-2]-n[1-2]")).toEqual(["rack1-n1", "rack1-n2", "rack2-n1", "rack2-n2"]);
    expect(expandHostlist("solo")).toEqual(["solo"]);
  });

  it("takes the node rank from --node-rank, else PET_NODE_RANK, else SLURM_NODEID, and the endpoint from the recipe, Kubeflow or Slurm", () => {
    const two = plan({ nodes: 2, rendezvous: { endpoint: "10.0.0.1:29400", timeout_s: 30 } });
    expect(clusterNode(two, "1", {})).toEqual({
      rank: 1,
      nodes: 2,
      endpoint: "10.0.0.1:29400",
      timeoutS: 30,
      rankFrom: "--node-rank",
    });
    expect(
      clusterNode(plan({ nodes: 2 }), undefined, { PET_NODE_RANK: "0", PET_MASTER_ADDR: "master-0" }),
    ).toMatchObject({ rank: 0, endpoint: "master-0:29500", rankFrom: "PET_NODE_RANK" });
    expect(
      clusterNode(plan({ nodes: 2 }), undefined, {
        SLURM_NODEID: "1",
        SLURM_NNODES: "2",
        SLURM_JOB_NODELIST: "gpu[07-08]",
      }),
    ).toMatchObject({ rank: 1, endpoint: "gpu07:29500", rankFrom: "SLURM_NODEID" });
    expect(clusterNode(plan({}), undefined, { SLURM_NODEID: "0" })).toBeNull();
  });

  it("refuses a node rank that is missing, out of range or not a number, a Slurm job of another size, and no endpoint", () => {
    const message = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as Error).message;
      }
      return "no error";
    };
    const two = plan({ nodes: 2, rendezvous: { endpoint: "h:1", timeout_s: 5 } });
    expect(message(() => clusterNode(two, undefined, {}))).toContain("nothing says which one this machine is");
    expect(message(() => clusterNode(two, "2", {}))).toContain(
      '--node-rank is "2", but a node rank is a whole number from 0 to 1',
    );
    expect(message(() => clusterNode(two, "x", {}))).toContain("a whole number");
    expect(message(() => clusterNode(two, undefined, { SLURM_NODEID: "0", SLURM_NNODES: "4" }))).toContain(
      "the Slurm job has 4 nodes",
    );
    expect(message(() => clusterNode(two, undefined, { PET_NODE_RANK: "1", PET_NNODES: "3" }))).toContain(
      "the PyTorchJob has 3 nodes (PET_NNODES) but the recipe trains on 2",
    );
    expect(message(() => clusterNode(plan({ nodes: 2 }), "0", {}))).toContain("names no rendezvous endpoint");
    expect(message(() => clusterNode(plan({}), "1", {}))).toContain("the recipe trains on one node");
  });

  it("validates the distributed section: endpoints are host:port, processes is processes_per_node's other name", () => {
    const parse = (distributed: unknown) =>
      RecipeSchema.safeParse({
        name: "x",
        task: "causal-lm",
        model: { base: "builtin:tiny-llama" },
        data: { file: "d.csv" },
        distributed,
      });
    expect(parse({ nodes: 2, rendezvous: { endpoint: "node01:29500" } }).success).toBe(true);
    expect(parse({ nodes: 2, rendezvous: { endpoint: "[::1]:29500" } }).success).toBe(true);
    expect(parse({ nodes: 2, rendezvous: { endpoint: "node01" } }).success).toBe(false);
    expect(parse({ nodes: 2, rendezvous: { endpoint: "node01:70000" } }).success).toBe(false);
    expect(parse({ processes: 2 }).success).toBe(true);
  });

  it("launches torchrun's static rendezvous at node 0 with the node's rank, and names a rendezvous that timed out", () => {
    expect(bridgeCommand(["train"], 2, NODE)).toEqual([
      "-m",
      "tune_bridge.launch",
      "--nnodes=2",
      "--node_rank=1",
      "--rdzv_backend=static",
      "--rdzv_endpoint=n01:29500",
      "--rdzv_conf=timeout=9",
      "--max_restarts=0",
      "--nproc_per_node=2",
      "-m",
      "tune_bridge",
      "train",
    ]);
    expect(
      rendezvousFailure("DistStoreError: Timed out after 10 seconds waiting for clients. 1/2 clients joined.", {
        ...NODE,
        rank: 0,
      })?.message,
    ).toBe("node 0 waited 9 s at n01:29500 for 2 nodes, and only 1 arrived (node 0 among them)");
    expect(
      rendezvousFailure("The client socket has timed out after 9000ms while trying to connect to (n01, 29500).", NODE)
        ?.message,
    ).toBe("node 1 could not reach node 0's rendezvous at n01:29500 within 9 s");
    expect(rendezvousFailure("ModuleNotFoundError: torch", NODE)).toBeNull();
  });

  it("says which gradient_accumulation resumes a run on another number of processes, or that none does", () => {
    // Batches of 4, accumulating 2, on 2 processes: 16 rows per step.
    const spread = (processes: number, nodes: number, effective: number) => ({
      distributed: RecipeSchema.shape.distributed.parse({ processes_per_node: processes, nodes }),
      training: { batch_size: 4, effective_batch_size: effective },
    });
    const run = spread(2, 1, 16);
    expect(processCountHint(run, spread(1, 1, 8))).toBe(
      "The run took 16 rows per optimizer step on 2 processes; to resume it on 1 process with batch_size 4, set training.gradient_accumulation: 4.",
    );
    expect(processCountHint(run, spread(2, 2, 32))).toContain(
      "to resume it on 4 processes with batch_size 4, set training.gradient_accumulation: 1.",
    );
    expect(processCountHint(run, spread(3, 1, 24))).toBe(
      "The run took 16 rows per optimizer step, which 3 processes of batch_size 4 cannot split evenly: resume on a number of processes that divides 4.",
    );
    // The rows per step kept, or the same processes: nothing to say about the count.
    expect(processCountHint(run, spread(1, 1, 16))).toBeNull();
    expect(processCountHint(run, spread(2, 1, 8))).toBeNull();
  });
});
