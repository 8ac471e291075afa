import { createRequire } from "node:module";
import { join } from "node:path";

/** The part of @anush008/tokenizers (Hugging Face's Rust tokenizers for Node) tune uses. */
interface NativeModule {
  Tokenizer: {
    fromFile(file: string): {
      encode(text: string, pair: null, options?: { addSpecialTokens?: boolean }): Promise<{ getIds(): number[] }>;
    };
  };
}

export interface NativeBatchEncoder {
  encodeBatch(texts: string[]): Promise<number[][]>;
}

/**
 * Hugging Face's own Rust tokenizer, when the optional native package is installed for this
 * platform; null otherwise (the pure-JS tokenizer then does the work). Both read the same
 * tokenizer.json, and the benchmark checks that their ids agree.
 */
export function nativeBatchEncoder(tokenizerDir: string): NativeBatchEncoder | null {
  let native: NativeModule;
  try {
    native = createRequire(import.meta.url)("@anush008/tokenizers") as NativeModule;
  } catch {
    return null;
  }
  const tokenizer = native.Tokenizer.fromFile(join(tokenizerDir, "tokenizer.json"));
  // One async encode per text rather than encodeBatch: each runs on a libuv thread, so all
  // cores work even where the tokenizer's own (rayon) pool is limited to one thread.
  return {
    encodeBatch: async (texts) =>
      (await Promise.all(texts.map((text) => tokenizer.encode(text, null, { addSpecialTokens: false })))).map((e) =>
        e.getIds(),
      ),
  };
}
