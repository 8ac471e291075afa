import type { RunPlan } from "../../recipe/index.js";
import type { Example } from "../example.js";
import { derivedSeed, seededRandom, shuffled } from "../seeded-random.js";
import type { RenderedExample, Segment } from "../tokenize/encode-rendered.js";
import { templateValues } from "./few-shot.js";
import { fillTemplate } from "./placeholders.js";
import { chatSegments, type ChatTemplate } from "./render-chat.js";

export interface RenderContext {
  plan: RunPlan;
  fewShot: string;
  /** The model's chat template, when the recipe renders through it. */
  chat: ChatTemplate | null;
  /** Render the answer too (training data), or stop at the prompt (prompting). */
  withAnswer: boolean;
}

/** Turns one example into text segments marked trained or not, ready for tokenization. */
export function renderExample(example: Example, context: RenderContext): RenderedExample {
  const { plan } = context;
  const template = plan.template;
  const classId = example.label ?? -1;
  if (example.messages) {
    return {
      segments: chatSegments(context.chat as ChatTemplate, example.messages),
      appendEos: false,
      addSpecials: false,
      classId,
    };
  }
  const prompt = template?.prompt ? promptText(example, context) : (example.fields[plan.data.columns.text] ?? "");
  if (plan.task === "sequence-classification") {
    return { segments: [{ text: prompt, trained: false }], appendEos: false, addSpecials: true, classId };
  }
  const completion = context.withAnswer
    ? fillTemplate(template?.completion ?? "{label}", templateValues(plan, example))
    : "";
  if (context.chat) {
    const messages = [
      ...(template?.system ? [{ role: "system" as const, content: template.system }] : []),
      { role: "user" as const, content: prompt },
      ...(context.withAnswer ? [{ role: "assistant" as const, content: completion.trim() }] : []),
    ];
    const segments: Segment[] = context.withAnswer
      ? chatSegments(context.chat, messages)
      : [{ text: context.chat.render(messages, true), trained: false }];
    return { segments, appendEos: false, addSpecials: false, classId };
  }
  const segments: Segment[] = [{ text: prompt, trained: false }];
  if (context.withAnswer) segments.push({ text: completion, trained: true });
  return { segments, appendEos: context.withAnswer, addSpecials: true, classId };
}

function promptText(example: Example, context: RenderContext): string {
  const template = context.plan.template;
  const values: Record<string, string> = { ...templateValues(context.plan, example), examples: context.fewShot };
  if (template?.options) {
    const labels = context.plan.data.labels ?? [];
    const order = template.options.shuffle
      ? shuffled(labels, seededRandom(derivedSeed(template.options.seed, example.id)))
      : labels;
    values.options = order.join(template.options.separator);
  }
  const prompt = fillTemplate(template?.prompt ?? "", values);
  if (template?.few_shot && template.few_shot.placement === "before-prompt" && context.fewShot !== "") {
    return `${context.fewShot}${template.few_shot.separator}${prompt}`;
  }
  return prompt;
}
