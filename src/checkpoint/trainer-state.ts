import type { CompletePlan } from "../recipe/index.js";

/**
 * trainer_state.json as transformers' Trainer writes it, so tools that read Trainer checkpoints
 * read tune's. The torch engine's worker writes the same keys (tune_bridge/train.py); a test
 * compares the two.
 */
export function trainerState(
  plan: CompletePlan,
  step: number,
  epoch: number,
  logHistory: Array<Record<string, number>>,
): Record<string, unknown> {
  return {
    best_global_step: null,
    best_metric: null,
    best_model_checkpoint: null,
    epoch,
    eval_steps: null,
    global_step: step,
    is_hyper_param_search: false,
    is_local_process_zero: true,
    is_world_process_zero: true,
    log_history: logHistory,
    logging_steps: plan.training.logging_steps,
    max_steps: plan.schedule.total_steps,
    num_input_tokens_seen: 0,
    num_train_epochs: plan.training.epochs ?? 0,
    save_steps: plan.checkpoints.every === "epoch" ? 0 : plan.checkpoints.every,
    stateful_callbacks: {},
    total_flos: 0,
    train_batch_size: plan.training.batch_size,
    trial_name: null,
    trial_params: null,
  };
}
