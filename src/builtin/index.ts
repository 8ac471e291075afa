export { builtinModelDir } from "./builtin-model-dir.js";
export { TINY_BERT_CONFIG, tinyBertDir } from "./tiny-bert.js";
export { LLAMA2_CHAT_TEMPLATE, TINY_LLAMA_CONFIG, tinyLlamaDir } from "./tiny-llama.js";
export { seededNormal } from "./seeded-normal.js";
