import { Template } from "@huggingface/jinja";
import { TuneError } from "../../errors/index.js";
import type { ChatMessage } from "../example.js";
import type { Segment } from "../tokenize/encode-rendered.js";

export interface ChatTemplate {
  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string;
}

/** The model's own chat template (Jinja, from tokenizer_config.json) rendered by @huggingface/jinja. */
export function chatTemplate(source: string | null, specialTokens: Record<string, string>, tokenizerDir: string): ChatTemplate {
  if (!source) {
    throw TuneError.single({
      code: "chat-template-missing",
      message: `the tokenizer in ${tokenizerDir} has no chat template`,
      location: { file: `${tokenizerDir}/tokenizer_config.json` },
      hint: "Use an instruct/chat model, or write the conversation as a plain prompt with template.prompt.",
    });
  }
  const template = new Template(source);
  return {
    render: (messages, addGenerationPrompt) =>
      template.render({ messages, add_generation_prompt: addGenerationPrompt, ...specialTokens }),
  };
}

/**
 * Splits a rendered conversation into masked and trained segments. jinja gives no mask for
 * `{% generation %}`, so each assistant turn is located by rendering the conversation up to
 * it (with the generation prompt) and up to its end: the text between is what the model says,
 * including its end-of-turn token.
 */
export function chatSegments(template: ChatTemplate, messages: readonly ChatMessage[]): Segment[] {
  const full = template.render(messages, false);
  const segments: Segment[] = [];
  let position = 0;
  messages.forEach((message, index) => {
    if (message.role !== "assistant") return;
    const before = template.render(messages.slice(0, index), true);
    const through = template.render(messages.slice(0, index + 1), false);
    if (!full.startsWith(before) || !full.startsWith(through) || before.length < position || through.length < before.length) {
      throw TuneError.single({
        code: "chat-template-not-prefix-stable",
        message: "the model's chat template does not render a conversation as a prefix of the longer one, so the assistant's tokens cannot be located",
        hint: "Use a chat template that renders turns in order (most do), or train with template.prompt/completion instead.",
      });
    }
    segments.push({ text: full.slice(position, before.length), trained: false });
    segments.push({ text: full.slice(before.length, through.length), trained: true });
    position = through.length;
  });
  segments.push({ text: full.slice(position), trained: false });
  return segments.filter((s) => s.text !== "");
}
