import type { RunPlan } from "../../recipe/index.js";
import { seededRandom } from "../../data/index.js";
import type { ReplyGenerator, ReplyRequest } from "../reply-generator.js";
import { adaptedModel, restoreAdapter } from "./adapted-model.js";
import { selectBackend } from "./backend.js";
import { generate } from "./generate.js";

/** The checkpoint loaded once in this process with the tfjs engine, for `tune chat`. */
export async function tfjsReplies(plan: RunPlan, modelDir: string, checkpoint: string): Promise<ReplyGenerator> {
  await selectBackend();
  const adapted = adaptedModel(plan, modelDir);
  restoreAdapter(checkpoint, adapted);
  const random = seededRandom(plan.training.seed);
  return {
    reply: async (request: ReplyRequest) =>
      generate(adapted.model, [request.ids], {
        maxNewTokens: request.maxNewTokens,
        stopIds: new Set(request.stopIds),
        temperature: request.temperature,
        topP: request.topP,
        random,
        adapt: adapted.lora.adapter(null),
      })[0] ?? [],
    close: async () => adapted.dispose(),
  };
}
