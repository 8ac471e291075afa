import { Template } from "@huggingface/jinja";
import { TuneError } from "../../errors/index.js";
import type { ChatMessage } from "../example.js";
import type { Segment } from "../tokenize/encode-rendered.js";

export interface ChatTemplate {
  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string;
  /** The tokenizer's special token strings (`<|eot_id|>`, `</s>`...): where a turn's end can stop. */
  specialTokens: readonly string[];
}

/** The model's own chat template (Jinja, from tokenizer_config.json) rendered by @huggingface/jinja. */
export function chatTemplate(
  source: string | null,
  specialTokens: Record<string, string>,
  tokenizerDir: string,
  allSpecialTokens: readonly string[],
): ChatTemplate {
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
    specialTokens: allSpecialTokens,
  };
}

/**
 * Splits a rendered conversation into masked and trained segments. jinja gives no mask for
 * `{% generation %}`, so each assistant turn is located in the full rendering: its text is
 * searched after the end of the conversation rendered up to it (where that is a prefix), and
 * the end-of-turn text the template writes after it (`<|eot_id|>`, `<|im_end|>\n`, `</s>`)
 * is trained too, so the model learns to stop. Searching rather than diffing prefixes copes
 * with templates that render earlier turns differently (Qwen3 drops their reasoning).
 */
export function chatSegments(template: ChatTemplate, messages: readonly ChatMessage[]): Segment[] {
  const full = template.render(messages, false);
  const segments: Segment[] = [];
  let position = 0;
  messages.forEach((message, index) => {
    if (message.role !== "assistant") return;
    const content = message.content.trim();
    const before = template.render(messages.slice(0, index), true);
    const searchFrom = full.startsWith(before) ? Math.max(position, before.length) : position;
    const start = full.indexOf(content, searchFrom);
    if (content === "" || start === -1) {
      throw new Error(
        `the chat template did not write assistant turn ${index + 1} verbatim, so its tokens cannot be located`,
      );
    }
    const endOfTurn = endOfTurnText(template, messages.slice(0, index + 1), content);
    let end = start + content.length;
    if (endOfTurn !== "" && full.startsWith(endOfTurn, end)) end += endOfTurn.length;
    segments.push({ text: full.slice(position, start), trained: false });
    segments.push({ text: full.slice(start, end), trained: true });
    position = end;
  });
  segments.push({ text: full.slice(position), trained: false });
  return segments.filter((s) => s.text !== "");
}

/**
 * What the template writes right after an assistant's text to close the turn: the text shared
 * by "the conversation ends here" and "a user turn follows", cut after its first special token
 * (and the whitespace after it), so the start of whatever comes next is never trained.
 */
function endOfTurnText(template: ChatTemplate, upToTurn: readonly ChatMessage[], content: string): string {
  const sentinel = "\u0000next\u0000";
  const alone = template.render(upToTurn, false);
  const followed = template.render([...upToTurn, { role: "user", content: sentinel }], false);
  const a = alone.slice(alone.lastIndexOf(content) + content.length);
  const b = followed.slice(followed.lastIndexOf(content, followed.indexOf(sentinel)) + content.length);
  let shared = 0;
  while (shared < a.length && a[shared] === b[shared]) shared++;
  const common = a.slice(0, shared);
  let cut = common.length;
  for (const token of template.specialTokens) {
    const at = common.indexOf(token);
    if (at !== -1 && at + token.length < cut) cut = at + token.length;
  }
  while (cut < common.length && /\s/.test(common[cut] as string)) cut++;
  return common.slice(0, cut);
}
