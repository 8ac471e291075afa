export { TINY_LLAMA_CONFIG, tinyLlamaDir } from "./tiny-llama.js";
export { seededNormal } from "./seeded-normal.js";
