import { posix } from "node:path";
import { Document } from "yaml";
import { TuneError, type Problem } from "../errors/index.js";
import { DEFAULT_RENDEZVOUS_PORT } from "../recipe/index.js";
import {
  endpointWarning,
  FAIL_FAST_ENV,
  layout,
  nodeCommand,
  pushesToHub,
  type LaunchFile,
  type LaunchInput,
} from "./node-command.js";

export interface PyTorchJobInput extends LaunchInput {
  /** An image with tune installed (`npm ci`, then `npx tune setup python`) in its working directory. */
  image: string;
  /** A ReadWriteMany PersistentVolumeClaim every pod mounts. */
  claim: string;
  /** Where the claim is mounted in each pod; `out` and `hfHome` lie under it. */
  mount: string;
  /** The Secret holding the Hub token, and its key. */
  secret: { name: string; key: string };
}

/**
 * A Kubeflow PyTorchJob (training operator, kubeflow.org/v1) that runs the recipe on
 * `distributed.nodes` pods: the Master is node 0, the Workers nodes 1 to nodes-1. The operator
 * gives each pod PET_NODE_RANK, PET_NNODES and PET_MASTER_ADDR/PET_MASTER_PORT (the Master's
 * service and its `pytorchjob-port`), which `tune recipe` reads. Emitted as YAML 1.1, which
 * kubectl reads: a value such as `on` or `0123` is quoted rather than read as a boolean or number.
 */
export function pytorchJob(input: PyTorchJobInput): LaunchFile {
  const problems = flagProblems(input);
  if (problems.length > 0) throw new TuneError(problems);
  const { recipe } = input;
  const { nodes, processesPerNode } = layout(recipe);
  const name = kubernetesName(recipe.name);
  const warning = endpointWarning(recipe, "the Master pod");
  const replica = (replicas: number) => ({
    replicas,
    // A restarted pod resumes from node 0's newest checkpoint.
    restartPolicy: "OnFailure",
    template: {
      spec: {
        containers: [
          {
            // The operator finds the training container by this name.
            name: "pytorch",
            image: input.image,
            command: nodeCommand(input),
            env: [
              {
                name: "HF_TOKEN",
                valueFrom: {
                  // The token stays in the Secret; without a push a missing Secret is no error.
                  secretKeyRef: { ...input.secret, ...(pushesToHub(recipe) ? {} : { optional: true }) },
                },
              },
              { name: "HF_HOME", value: input.hfHome },
              ...Object.entries(FAIL_FAST_ENV).map(([envName, value]) => ({ name: envName, value })),
            ],
            // The operator sets PET_MASTER_PORT from the port of this name (23456 without it).
            ports: [{ name: "pytorchjob-port", containerPort: DEFAULT_RENDEZVOUS_PORT }],
            resources: { limits: { "nvidia.com/gpu": processesPerNode } },
            volumeMounts: [
              { name: "shared", mountPath: input.mount },
              { name: "dshm", mountPath: "/dev/shm" },
            ],
          },
        ],
        volumes: [
          { name: "shared", persistentVolumeClaim: { claimName: input.claim } },
          // NCCL and the data loaders share tensors through /dev/shm, which is 64 MB by default in a pod.
          { name: "dshm", emptyDir: { medium: "Memory" } },
        ],
      },
    },
  });
  const doc = new Document(
    {
      apiVersion: "kubeflow.org/v1",
      kind: "PyTorchJob",
      metadata: { name },
      spec: {
        nprocPerNode: String(processesPerNode),
        // A failure that restarting does not cure (a bad data row) stops after a few tries.
        runPolicy: { backoffLimit: 3 },
        pytorchReplicaSpecs: {
          Master: replica(1),
          ...(nodes > 1 ? { Worker: replica(nodes - 1) } : {}),
        },
      },
    },
    { version: "1.1" },
  );
  doc.commentBefore = [
    " Written by `tune launch --print kubernetes`. Apply it with `kubectl apply -f`.",
    " Every pod runs the recipe from the shared volume: copy the recipe and the data files it",
    ` names there first, so that ${JSON.stringify(input.recipeFile)} is the recipe in each pod.`,
    " The volume is a ReadWriteMany PersistentVolumeClaim; node 0 (the Master) writes the run under",
    " --out on it, and HF_HOME there keeps one copy of the base model and datasets.",
    ` HF_TOKEN comes from the Secret ${input.secret.name}, key ${input.secret.key}; create it without the token`,
    " reaching your shell history:",
    `   kubectl create secret generic ${input.secret.name} --from-file=${input.secret.key}=<file holding the token>`,
    ...(warning ? [` Warning: ${JSON.stringify(warning)}`] : []),
  ].join("\n");
  return { text: doc.toString(), warnings: warning ? [warning] : [] };
}

/** Kubernetes object names (DNS subdomains) and Secret keys, checked here rather than by a failed apply. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

function flagProblems(input: PyTorchJobInput): Problem[] {
  const problems: Problem[] = [];
  const refuse = (flag: string, message: string, hint: string) =>
    problems.push({ code: "launch-flag", message, location: { file: flag }, hint });
  if (!posix.isAbsolute(input.mount))
    refuse(
      "--mount",
      `${JSON.stringify(input.mount)} is not an absolute path`,
      "Mount the volume at an absolute path, such as /shared.",
    );
  for (const [flag, path] of [
    ["--out", input.out],
    ["--hf-home", input.hfHome],
  ] as const)
    if (!isWithin(path, input.mount))
      refuse(
        flag,
        `${JSON.stringify(path)} is not on the shared volume mounted at ${input.mount}: each pod would write its own copy, lost with the pod`,
        `Give an absolute path under ${input.mount}, or mount the volume elsewhere with --mount.`,
      );
  if (!OBJECT_NAME.test(input.claim))
    refuse(
      "--claim",
      `${JSON.stringify(input.claim)} is not a Kubernetes object name`,
      "Name the PersistentVolumeClaim as kubectl shows it (lower case letters, digits, '-' and '.').",
    );
  if (!OBJECT_NAME.test(input.secret.name))
    refuse(
      "--secret",
      `${JSON.stringify(input.secret.name)} is not a Kubernetes object name`,
      "Name the Secret as kubectl shows it (lower case letters, digits, '-' and '.').",
    );
  if (!SECRET_KEY.test(input.secret.key))
    refuse(
      "--secret-key",
      `${JSON.stringify(input.secret.key)} is not a Secret key`,
      "A key is letters, digits, '-', '_' and '.'.",
    );
  if (!/^[^\s]+$/.test(input.image))
    refuse(
      "--image",
      `${JSON.stringify(input.image)} is not an image reference`,
      "Give the image as `docker pull` takes it, e.g. registry.example.org/team/tune:1.0.",
    );
  return problems;
}

function isWithin(path: string, root: string): boolean {
  const relative = posix.relative(root, path);
  return posix.isAbsolute(path) && relative !== ".." && !relative.startsWith("../");
}

/**
 * A recipe name as a Kubernetes object name: the operator names services `<job>-worker-<i>`,
 * which must be DNS labels (lower case, letters, digits and `-`, starting with a letter, at most
 * 63 characters).
 */
function kubernetesName(recipeName: string): string {
  const base = recipeName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return base === "" ? "tune" : base;
}
