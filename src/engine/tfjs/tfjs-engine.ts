import type { Engine } from "../engine.js";
import { tfjsRefuses } from "./adapted-model.js";
import { tfjsReplies } from "./chat-tfjs.js";
import { predictCheckpoint } from "./predict-checkpoint.js";
import { trainTfjs } from "./train-tfjs.js";

/** tune's own engine: TensorFlow.js in this process, on the wasm or CPU backend. */
export const tfjsEngine: Engine = {
  name: "tfjs",
  refuses: tfjsRefuses,
  train: (plan, modelDir, prepared, options) => trainTfjs(plan, modelDir, prepared, options),
  predict: (plan, modelDir, prepared, checkpoint, splits, outDir) =>
    predictCheckpoint(plan, modelDir, prepared, checkpoint, splits, outDir),
  replies: tfjsReplies,
};
