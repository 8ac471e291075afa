export interface ParseRules {
  match: "contains" | "exact" | "first-word";
  fallback: string;
  /** Keep only the text after the last occurrence of this marker. */
  answerAfter?: string;
}

/**
 * A generated answer as one of the closed label set, case-insensitively, as the reference
 * systems parse them: `exact` compares the whole trimmed answer, `first-word` its first word,
 * `contains` looks for each label as a whole word and takes the one mentioned first (the longest
 * on a tie, so "Call-to-Action" beats "Action"). No match gives the fallback label.
 */
export function parseAnswer(answer: string, labels: readonly string[], rules: ParseRules): string {
  let text = answer;
  if (rules.answerAfter) {
    const at = text.toLowerCase().lastIndexOf(rules.answerAfter.toLowerCase());
    if (at >= 0) text = text.slice(at + rules.answerAfter.length);
  }
  const normal = (s: string) =>
    s
      .trim()
      .toLowerCase()
      .replace(/^[\s"'`*(\[]+|[\s"'`*.,;:!?)\]]+$/g, "");
  const cleaned = normal(text);
  if (rules.match === "exact") return labels.find((label) => normal(label) === cleaned) ?? rules.fallback;
  if (rules.match === "first-word") {
    const first = normal(cleaned.split(/\s+/)[0] ?? "");
    return labels.find((label) => normal(label) === first) ?? rules.fallback;
  }
  let best: { label: string; at: number } | null = null;
  for (const label of labels) {
    const wanted = normal(label);
    if (wanted === "") continue;
    const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(wanted)}(?![\\p{L}\\p{N}])`, "u");
    const found = pattern.exec(cleaned);
    if (!found) continue;
    if (!best || found.index < best.at || (found.index === best.at && wanted.length > normal(best.label).length))
      best = { label, at: found.index };
  }
  return best?.label ?? rules.fallback;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
