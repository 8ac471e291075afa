/** A piece of an example's text, and whether the model is trained to produce it. */
export interface Segment {
  text: string;
  trained: boolean;
}

/** An example ready for tokenization. */
export interface RenderedExample {
  segments: Segment[];
  /** Append the EOS token as a trained token (prompt/completion SFT). */
  appendEos: boolean;
  /** Wrap in the tokenizer's own special tokens (BOS, CLS/SEP): off when a chat template wrote them. */
  addSpecials: boolean;
  /** Class id for classification, else -1. */
  classId: number;
}

export interface EncodedExample {
  ids: number[];
  /** Per token: the id when trained, -100 when masked. Empty for class-label datasets. */
  labels: number[];
  truncated: boolean;
}

export interface EncodeContext {
  encode(text: string, addSpecialTokens: boolean): number[];
  specials: { prefix: number[]; suffix: number[] };
  eosId: number | null;
}

/**
 * Tokenizes an example segment by segment, so trained and masked tokens are known exactly,
 * and truncates to `maxLength`. Sequences with trained tokens keep their start (the prompt
 * leads to the answer); prompt-only sequences keep their end, where the question is.
 * Special tokens around a classifier's input survive truncation.
 */
export function encodeRendered(
  example: RenderedExample,
  context: EncodeContext,
  maxLength: number,
  tokenLabels: boolean,
): EncodedExample {
  const prefix = example.addSpecials ? context.specials.prefix : [];
  const suffix = example.addSpecials && !tokenLabels ? context.specials.suffix : [];
  const ids: number[] = [];
  const trained: boolean[] = [];
  for (const segment of example.segments) {
    if (segment.text === "") continue;
    for (const id of context.encode(segment.text, false)) {
      ids.push(id);
      trained.push(segment.trained);
    }
  }
  if (example.appendEos && context.eosId !== null) {
    ids.push(context.eosId);
    trained.push(true);
  }
  const room = maxLength - prefix.length - suffix.length;
  const truncated = ids.length > room;
  let start = 0;
  let end = ids.length;
  if (truncated) {
    const keepEnd = tokenLabels && !trained.some(Boolean);
    if (keepEnd) start = ids.length - room;
    else end = room;
  }
  const bodyIds = ids.slice(start, end);
  const allIds = [...prefix, ...bodyIds, ...suffix];
  if (!tokenLabels) return { ids: allIds, labels: [], truncated };
  const bodyLabels = trained.slice(start, end).map((isTrained, i) => (isTrained ? (bodyIds[i] as number) : -100));
  return { ids: allIds, labels: [...prefix.map(() => -100), ...bodyLabels, ...suffix.map(() => -100)], truncated };
}
