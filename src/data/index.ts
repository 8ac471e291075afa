export { readDatasetSplit, readSubgroups, type TokenizedSplit } from "./dataset/read-dataset.js";
export type { DatasetManifest, LengthStats } from "./dataset/manifest.js";
export type { ChatMessage, Example } from "./example.js";
export { loadExamples, type LoadedExamples } from "./load-examples.js";
export {
  prepareData,
  runFewShotBlock,
  type PrepareOptions,
  type PrepareStage,
  type PreparedData,
} from "./prepare-data.js";
export { loadTokenizer, type TextTokenizer } from "./tokenize/load-tokenizer.js";
export { chatTemplate, type ChatTemplate } from "./template/render-chat.js";
export type { EncodedExample, RenderedExample, Segment } from "./tokenize/encode-rendered.js";
export {
  tokenizeAll,
  type TokenizeBackend,
  type TokenizeOptions,
  type TokenizeResult,
} from "./tokenize/tokenize-all.js";
export { derivedSeed, seededRandom, shuffled } from "./seeded-random.js";
export { formatOf, readRows } from "./read/read-rows.js";
export type { DataFormat, SourceRow } from "./read/source-row.js";
export { dataError } from "./data-error.js";
