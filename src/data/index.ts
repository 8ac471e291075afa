export { readDatasetSplit, type TokenizedSplit } from "./dataset/read-dataset.js";
export type { DatasetManifest, LengthStats } from "./dataset/manifest.js";
export type { ChatMessage, Example } from "./example.js";
export { loadExamples, type LoadedExamples } from "./load-examples.js";
export { defaultCacheRoot, prepareData, type PrepareOptions, type PrepareStage, type PreparedData } from "./prepare-data.js";
export { loadTokenizer, type TextTokenizer } from "./tokenize/load-tokenizer.js";
export { locateTokenizer } from "./tokenize/locate-tokenizer.js";
export type { EncodedExample, RenderedExample, Segment } from "./tokenize/encode-rendered.js";
export { tokenizeAll, type TokenizeBackend, type TokenizeOptions, type TokenizeResult } from "./tokenize/tokenize-all.js";
