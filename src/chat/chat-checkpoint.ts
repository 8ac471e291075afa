import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adapterProblem } from "../adapter/index.js";
import { chatTemplate, loadTokenizer, type ChatMessage, type TextTokenizer } from "../data/index.js";
import { engineFor } from "../engine/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import { locateModel, type ModelOptions } from "../model/index.js";
import type { RunPlan } from "../recipe/index.js";
import { openTarget, targetEngine, type TargetOptions } from "../target/index.js";

export interface ChatOptions extends Pick<TargetOptions, "recipe" | "base" | "revision"> {
  /** A system message opening the conversation. */
  system?: string;
  maxNewTokens?: number;
  onDownload?: ModelOptions["onDownload"];
}

export interface ChatSession {
  /** The chat template, or "none" when the model has none and each message is sent as it is. */
  template: "model" | "none";
  engine: string;
  /** Answers the next user message, keeping the conversation so far. */
  say(message: string): Promise<string>;
  close(): Promise<void>;
}

/** Token ids that end a reply: the model's EOS ids and its end-of-turn special tokens. */
function stopIds(modelDir: string, tokenizer: TextTokenizer): number[] {
  const config = JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8")) as {
    eos_token_id?: number | number[];
  };
  const eos =
    config.eos_token_id === undefined
      ? []
      : Array.isArray(config.eos_token_id)
        ? config.eos_token_id
        : [config.eos_token_id];
  const turnEnds = tokenizer.allSpecialTokens
    .filter((token) => /eot|end|<\/s>/i.test(token))
    .flatMap((token) => tokenizer.encode(token, false));
  return [...new Set([...eos, ...(tokenizer.eosId === null ? [] : [tokenizer.eosId]), ...turnEnds])];
}

/** A model without a chat template gets the message alone, with the BOS its tokenizer adds but no trailing EOS. */
function plainPrompt(tokenizer: TextTokenizer, message: string): number[] {
  const ids = tokenizer.encode(message, true);
  return ids.slice(0, ids.length - tokenizer.specials.suffix.length);
}

/**
 * A conversation with a trained checkpoint: each message is added to the history, rendered with
 * the model's chat template (with the generation prompt) and tokenized here, and the engine that
 * trained the checkpoint generates the reply with the run's generation settings.
 */
export async function openChat(checkpointPath: string, options: ChatOptions = {}): Promise<ChatSession> {
  const target = await openTarget(checkpointPath, { ...options, purpose: "chat" });
  const plan = target.plan as RunPlan;
  if (plan.task === "sequence-classification")
    throw TuneError.single(
      {
        code: "chat-not-generative",
        message: `${plan.name} is a classifier: it labels texts and does not write replies`,
        hint: `Use \`tune predict ${checkpointPath} --in <file> --out <file>\`.`,
      },
      ExitCode.user,
    );
  const model = await locateModel(plan, { onDownload: options.onDownload });
  const tokenizer = loadTokenizer(model.dir);
  const template = tokenizer.chatTemplate
    ? chatTemplate(tokenizer.chatTemplate, tokenizer.specialTokens, tokenizer.dir, tokenizer.allSpecialTokens)
    : null;
  const engine = await targetEngine({ ...target, plan });
  // An adapter from elsewhere has no run folder: the torch worker reads its plan from a scratch folder.
  const scratch = target.foreign ? mkdtempSync(join(tmpdir(), "tune-chat-")) : null;
  const chatPlan = scratch ? { ...plan, run_dir: scratch } : plan;
  if (scratch) {
    const unfit = adapterProblem(chatPlan, target.checkpoint, model.dir);
    if (unfit) {
      rmSync(scratch, { recursive: true, force: true });
      throw TuneError.single(
        {
          code: "checkpoint-invalid",
          message: `cannot chat with ${target.checkpoint}: ${unfit}`,
          location: { file: target.checkpoint },
          hint: "The adapter does not fit the base model: check --base.",
        },
        ExitCode.user,
      );
    }
    writeFileSync(join(scratch, "plan.json"), JSON.stringify(chatPlan));
  }
  const generator = await (await engineFor(engine)).replies(chatPlan, model.dir, target.checkpoint);
  const stops = stopIds(model.dir, tokenizer);
  const history: ChatMessage[] = options.system ? [{ role: "system", content: options.system }] : [];
  return {
    template: template ? "model" : "none",
    engine,
    async say(message) {
      history.push({ role: "user", content: message });
      const ids = template ? tokenizer.encode(template.render(history, true), false) : plainPrompt(tokenizer, message);
      const reply = tokenizer
        .decode(
          await generator.reply({
            ids,
            stopIds: stops,
            maxNewTokens: options.maxNewTokens ?? plan.generation.max_new_tokens,
            temperature: plan.generation.temperature,
            topP: plan.generation.top_p,
          }),
        )
        .trim();
      history.push({ role: "assistant", content: reply });
      return reply;
    },
    async close() {
      await generator.close();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    },
  };
}
