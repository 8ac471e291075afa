import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { encodeRendered, type EncodedExample, type RenderedExample } from "./encode-rendered.js";
import type { TextTokenizer } from "./load-tokenizer.js";
import { nativeBatchEncoder, type NativeBatchEncoder } from "./native-tokenizer.js";

/** Below this many examples, starting workers costs more than it saves. */
const PARALLEL_THRESHOLD = 2_000;
const CHUNK = 256;
const NATIVE_BATCH = 2_048;
const WORKER_FILE = fileURLToPath(new URL("./tokenize-worker.js", import.meta.url));

export type TokenizeBackend = "native" | "js-workers" | "js";

export interface TokenizeOptions {
  /** `auto` uses the native tokenizer when installed; `js` forces the pure-JS path. */
  backend?: "auto" | "js";
  onProgress?: (done: number) => void;
}

export interface TokenizeResult {
  encoded: EncodedExample[];
  backend: TokenizeBackend;
}

/**
 * Tokenizes every example, in order: with Hugging Face's native tokenizer in batches when the
 * optional package is installed, else in pure JS across worker threads when the data is large
 * (the JS tokenizer is single-threaded), else in this thread.
 */
export async function tokenizeAll(
  tokenizer: TextTokenizer,
  examples: readonly RenderedExample[],
  maxLength: number,
  tokenLabels: boolean,
  options: TokenizeOptions = {},
): Promise<TokenizeResult> {
  const onProgress = options.onProgress ?? (() => {});
  const native = options.backend === "js" ? null : nativeBatchEncoder(tokenizer.dir);
  if (native)
    return {
      encoded: await tokenizeNative(native, tokenizer, examples, maxLength, tokenLabels, onProgress),
      backend: "native",
    };
  const threads = Math.min(availableParallelism(), 8);
  if (examples.length < PARALLEL_THRESHOLD || threads < 2 || !existsSync(WORKER_FILE)) {
    const encoded: EncodedExample[] = [];
    for (const example of examples) {
      encoded.push(encodeRendered(example, tokenizer, maxLength, tokenLabels));
      if (encoded.length % CHUNK === 0) onProgress(encoded.length);
    }
    onProgress(encoded.length);
    return { encoded, backend: "js" };
  }
  return {
    encoded: await tokenizeInWorkers(tokenizer.dir, examples, maxLength, tokenLabels, threads, onProgress),
    backend: "js-workers",
  };
}

/**
 * Segments of a chunk go to the native tokenizer in one batch, several batches at once (each
 * runs on its own libuv thread, so every core works even when the tokenizer's own thread pool
 * is limited); encodeRendered then assembles each example in order.
 */
async function tokenizeNative(
  native: NativeBatchEncoder,
  tokenizer: TextTokenizer,
  examples: readonly RenderedExample[],
  maxLength: number,
  tokenLabels: boolean,
  onProgress: (done: number) => void,
): Promise<EncodedExample[]> {
  const chunks: RenderedExample[][] = [];
  for (let start = 0; start < examples.length; start += NATIVE_BATCH)
    chunks.push(examples.slice(start, start + NATIVE_BATCH));
  const encodeChunk = (chunk: RenderedExample[]) =>
    native.encodeBatch(chunk.flatMap((example) => example.segments.filter((s) => s.text !== "").map((s) => s.text)));
  const inFlight = new Map<number, Promise<number[][]>>();
  const concurrency = Math.max(2, availableParallelism());
  const out: EncodedExample[] = [];
  for (let index = 0; index < chunks.length; index++) {
    for (let ahead = index; ahead < Math.min(chunks.length, index + concurrency); ahead++) {
      if (!inFlight.has(ahead)) inFlight.set(ahead, encodeChunk(chunks[ahead] as RenderedExample[]));
    }
    const encodedTexts = await (inFlight.get(index) as Promise<number[][]>);
    inFlight.delete(index);
    let next = 0;
    const context = { ...tokenizer, encode: () => encodedTexts[next++] as number[] };
    for (const example of chunks[index] as RenderedExample[])
      out.push(encodeRendered(example, context, maxLength, tokenLabels));
    onProgress(out.length);
  }
  return out;
}

async function tokenizeInWorkers(
  dir: string,
  examples: readonly RenderedExample[],
  maxLength: number,
  tokenLabels: boolean,
  threads: number,
  onProgress: (done: number) => void,
): Promise<EncodedExample[]> {
  const results: EncodedExample[][] = [];
  const chunks: number[] = [];
  for (let start = 0; start < examples.length; start += CHUNK) chunks.push(start);
  let next = 0;
  let done = 0;
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_FILE, { workerData: { dir } }));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const send = () => {
              const index = next++;
              const start = chunks[index];
              if (start === undefined) return resolve();
              worker.once("message", (encoded: EncodedExample[]) => {
                results[index] = encoded;
                done += encoded.length;
                onProgress(done);
                send();
              });
              worker.postMessage({ examples: examples.slice(start, start + CHUNK), maxLength, tokenLabels });
            };
            worker.once("error", reject);
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  return results.flat();
}
