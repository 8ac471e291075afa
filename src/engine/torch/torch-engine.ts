import type { Engine } from "../engine.js";
import { torchReplies } from "./chat-torch.js";
import { predictTorch, trainTorch } from "./train-torch.js";

/** PyTorch, transformers and PEFT in a Python worker (python-bridge), on the CPU or GPUs. */
export const torchEngine: Engine = {
  name: "torch",
  // Everything a recipe can ask for runs here; what is not built is refused at validation.
  refuses: () => null,
  train: trainTorch,
  predict: predictTorch,
  replies: torchReplies,
};
