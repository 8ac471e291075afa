import type { Recipe } from "../recipe/index.js";

const URL_PATTERN = /\b(?:https?:\/\/|www\.)\S+/gi;
const MENTION_PATTERN = /(^|[^\w@])@\w{1,30}\b/g;

/** Applies the recipe's cleaning to one text, in the order a reader would expect. */
export function cleanText(text: string, clean: Recipe["data"]["clean"]): string {
  let out = text;
  if (clean.strip_urls) out = out.replace(URL_PATTERN, "");
  if (clean.strip_mentions) out = out.replace(MENTION_PATTERN, "$1");
  if (clean.normalize_whitespace) out = out.replace(/\s+/g, " ").trim();
  return out;
}
