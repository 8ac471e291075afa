import { join } from "node:path";
import { loadTokenizer, readDatasetSplit, type PreparedData } from "../../data/index.js";
import type { RunPlan, SplitName } from "../../recipe/index.js";
import { adaptedModel, restoreAdapter } from "./adapted-model.js";
import { selectBackend, type TfjsBackend } from "./backend.js";
import type { SplitPredictions } from "../engine.js";
import { predictSplit } from "./predict-tfjs.js";

/**
 * Loads a checkpoint's adapter onto the base model and writes predictions/<split>.jsonl for each
 * split into `outDir`: the engine's half of evaluating any checkpoint
 * after the fact, and of re-evaluating one a killed run never judged.
 */
export async function predictCheckpoint(
  plan: RunPlan,
  modelDir: string,
  prepared: PreparedData,
  checkpoint: string,
  splits: readonly SplitName[],
  outDir: string,
  backend?: TfjsBackend,
): Promise<SplitPredictions[]> {
  await selectBackend(backend);
  const adapted = adaptedModel(plan, modelDir);
  try {
    restoreAdapter(checkpoint, adapted);
    const tokenizer = loadTokenizer(modelDir);
    const written: SplitPredictions[] = [];
    for (const split of splits) {
      const dir = prepared.splits[split]?.dir;
      if (!dir) continue;
      const file = join(outDir, "predictions", `${split}.jsonl`);
      const summary = predictSplit(
        {
          model: adapted.model,
          adapt: adapted.lora.adapter(null),
          head: adapted.classify ? adapted.head : null,
          plan,
          tokenizer,
        },
        readDatasetSplit(dir),
        file,
      );
      written.push({ split, file, ...summary });
    }
    return written;
  } finally {
    adapted.dispose();
  }
}
