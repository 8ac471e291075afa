import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { ExitCode, TuneError } from "../../errors/index.js";

/** What the data pipeline needs from a model's tokenizer. */
export interface TextTokenizer {
  encode(text: string, addSpecialTokens: boolean): number[];
  decode(ids: readonly number[]): string;
  /** Ids the tokenizer's post-processor puts before and after a single text (BOS, CLS/SEP...). */
  specials: { prefix: number[]; suffix: number[] };
  eosId: number | null;
  padId: number | null;
  /** Special token strings from tokenizer_config.json, for chat templates. */
  specialTokens: Record<string, string>;
  /** Every added token marked special (`<|eot_id|>`, `<|im_end|>`, `</s>`...). */
  allSpecialTokens: string[];
  chatTemplate: string | null;
  /**
   * The pure-JS tokenizer ignores a Metaspace pre-tokenizer's `split` option, so its ids differ
   * from the reference on such (mostly Unigram) tokenizers; the native tokenizer has no such gap.
   */
  jsMayDiffer: boolean;
  /** sha256 over tokenizer.json and tokenizer_config.json: part of the dataset cache key. */
  sha256: string;
  dir: string;
}

type TokenValue = string | { content?: string } | null | undefined;

/** Loads tokenizer.json + tokenizer_config.json from a model folder with @huggingface/tokenizers. */
export function loadTokenizer(dir: string): TextTokenizer {
  const jsonFile = join(dir, "tokenizer.json");
  const configFile = join(dir, "tokenizer_config.json");
  let jsonText: string;
  let configText: string;
  let tokenizer: Tokenizer;
  let config: Record<string, unknown>;
  try {
    jsonText = readFileSync(jsonFile, "utf8");
    configText = readFileSync(configFile, "utf8");
    config = JSON.parse(configText) as Record<string, unknown>;
    tokenizer = new Tokenizer(JSON.parse(jsonText) as object, config);
    tokenizer.encode("probe");
  } catch (error) {
    throw TuneError.single(
      {
        code: "tokenizer-unloadable",
        message: `cannot load the tokenizer in ${dir}: ${(error as Error).message.split("\n")[0]}`,
        location: { file: jsonFile },
        hint: "The model folder needs a tokenizer.json (the 'fast' tokenizer format) and tokenizer_config.json; save them with tokenizer.save_pretrained(folder).",
      },
      ExitCode.user,
    );
  }
  const tokenText = (value: unknown) => {
    const token = value as TokenValue;
    return typeof token === "string" ? token : (token?.content ?? null);
  };
  const specialTokens: Record<string, string> = {};
  for (const key of ["bos_token", "eos_token", "pad_token", "unk_token", "sep_token", "cls_token"]) {
    const text = tokenText(config[key]);
    if (text) specialTokens[key] = text;
  }
  const idOf = (key: string) =>
    specialTokens[key] === undefined ? null : (tokenizer.token_to_id(specialTokens[key] as string) ?? null);
  const encode = (text: string, addSpecialTokens: boolean) =>
    tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  return {
    encode,
    decode: (ids) => tokenizer.decode([...ids], { skip_special_tokens: false }),
    specials: specialsAround(encode),
    eosId: idOf("eos_token"),
    padId: idOf("pad_token"),
    specialTokens,
    allSpecialTokens: [...tokenizer.get_added_tokens_decoder().values()].filter((t) => t.special).map((t) => t.content),
    chatTemplate: chatTemplateOf(config.chat_template),
    jsMayDiffer: /"type"\s*:\s*"Metaspace"[^}]*"split"\s*:\s*true/.test(jsonText),
    sha256: createHash("sha256").update(jsonText).update("\0").update(configText).digest("hex"),
    dir,
  };
}

/** Finds where a text's ids sit among the post-processor's special tokens. */
function specialsAround(encode: (text: string, specials: boolean) => number[]): { prefix: number[]; suffix: number[] } {
  const probe = "tune probe";
  const bare = encode(probe, false);
  const full = encode(probe, true);
  for (let start = 0; start + bare.length <= full.length; start++) {
    if (bare.every((id, i) => full[start + i] === id)) {
      return { prefix: full.slice(0, start), suffix: full.slice(start + bare.length) };
    }
  }
  return { prefix: [], suffix: [] };
}

function chatTemplateOf(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const named = value as Array<{ name?: string; template?: string }>;
    return (named.find((t) => t.name === "default") ?? named[0])?.template ?? null;
  }
  return null;
}
