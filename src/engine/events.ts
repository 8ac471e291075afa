import type { SplitName } from "../recipe/index.js";

/** What an engine reports while it trains, in the order it happens (also appended to events.jsonl). */
export type TrainEvent =
  | {
      type: "start";
      engine: "tfjs" | "torch";
      backend: string;
      total_steps: number;
      trainable_parameters: number;
      /** The torch engine's speed features in use (README, "The torch engine"). */
      speed?: { padding_free: boolean; compile: boolean; attention: string; lean_loss: boolean };
    }
  | {
      type: "step";
      step: number;
      epoch: number;
      loss: number;
      lr: number;
      grad_norm: number;
      tokens_per_s: number;
      memory_mb: number;
      tensors: number;
    }
  | { type: "checkpoint"; step: number; dir: string }
  | {
      type: "predictions";
      step: number;
      checkpoint: string;
      split: SplitName;
      file: string;
      examples: number;
      loss: number;
    }
  | { type: "resume"; step: number; checkpoint: string }
  | { type: "stopped"; step: number; checkpoint: string }
  | { type: "warning"; message: string }
  | { type: "end"; step: number; checkpoint: string };

/** Live progress after every optimizer step (events come only every logging_steps). */
export interface StepProgress {
  step: number;
  total: number;
  /** 0-based epoch, and this step's place in it. */
  epoch: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
}
