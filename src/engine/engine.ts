import type { PreparedData } from "../data/index.js";
import type { CompletePlan, RunPlan, SplitName } from "../recipe/index.js";
import type { TrainEvent, StepProgress } from "./events.js";
import type { ReplyGenerator } from "./reply-generator.js";

export type EngineName = "tfjs" | "torch";

/** This machine's place in a multi-node run: which node it is and where the nodes meet. */
export interface ClusterNode {
  /** 0 for the node that hosts the rendezvous and writes the run directory. */
  rank: number;
  nodes: number;
  /** `host:port` of node 0's rendezvous. */
  endpoint: string;
  timeoutS: number;
  /** Where the rank came from: `--node-rank`, SLURM_NODEID or PET_NODE_RANK. */
  rankFrom: string;
}

export interface TrainOptions {
  emit: (event: TrainEvent) => void;
  /** Set on every node of a multi-node run. */
  node?: ClusterNode;
  /** The folder for plan.json and the worker's files when not the run directory's (nodes other than 0 write nothing there). */
  workDir?: string;
  /** A complete checkpoint of this run, written by this engine, to continue from exactly where it stopped. */
  resumeFrom?: string;
  /** Asked after every optimizer step; true saves a checkpoint there and returns (Ctrl-C). */
  shouldStop?: () => boolean;
  onStep?: (progress: StepProgress) => void;
  /** What the run was made from (hashes of recipe, data, tokenizer; versions), recorded in every checkpoint's manifest. */
  provenance?: Record<string, unknown>;
}

export interface TrainResult {
  checkpoint: string;
  step: number;
  /** True when shouldStop ended the run before its last step. */
  stopped: boolean;
}

/** predictions/<split>.jsonl written for one split, with its mean loss. */
export interface SplitPredictions {
  split: SplitName;
  file: string;
  examples: number;
  /** Mean loss per example (classification) or per trained token (causal LM). */
  loss: number;
}

/**
 * What the runner and the verbs need from an engine. Each engine reads only the completed run
 * plan, the model folder and the tokenized datasets; the checkpoints it writes are PEFT adapters
 * with tune's manifest, which records the engine (see checkpointEngine).
 */
export interface Engine {
  readonly name: EngineName;
  /** Why this engine cannot train the plan, found before any data is read; null when it can. */
  refuses(plan: RunPlan): string | null;
  train(plan: CompletePlan, modelDir: string, prepared: PreparedData, options: TrainOptions): Promise<TrainResult>;
  /** Predictions of `splits` by a checkpoint this engine wrote, into `outDir`/predictions/. */
  predict(
    plan: RunPlan,
    modelDir: string,
    prepared: PreparedData,
    checkpoint: string,
    splits: readonly SplitName[],
    outDir: string,
  ): Promise<SplitPredictions[]>;
  /** A checkpoint loaded once, continuing prompts one reply at a time (`tune chat`). */
  replies(plan: RunPlan, modelDir: string, checkpoint: string): Promise<ReplyGenerator>;
}

/**
 * The engine of that name, loaded only now: the CLI's other verbs, and a torch run, never load
 * TensorFlow.js.
 */
export async function engineFor(name: EngineName): Promise<Engine> {
  return name === "torch"
    ? (await import("./torch/torch-engine.js")).torchEngine
    : (await import("./tfjs/tfjs-engine.js")).tfjsEngine;
}
