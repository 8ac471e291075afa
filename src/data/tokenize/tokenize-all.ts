import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { encodeRendered, type EncodedExample, type RenderedExample } from "./encode-rendered.js";
import type { TextTokenizer } from "./load-tokenizer.js";

/** Below this many examples, starting workers costs more than it saves. */
const PARALLEL_THRESHOLD = 2_000;
const CHUNK = 256;
const WORKER_FILE = fileURLToPath(new URL("./tokenize-worker.js", import.meta.url));

/**
 * Tokenizes every example, across worker threads when the data is large (the pure-JS
 * tokenizer is single-threaded), in order. `onProgress` gets the number done so far.
 */
export async function tokenizeAll(
  tokenizer: TextTokenizer,
  examples: readonly RenderedExample[],
  maxLength: number,
  tokenLabels: boolean,
  onProgress: (done: number) => void = () => {},
): Promise<EncodedExample[]> {
  const threads = Math.min(availableParallelism(), 8);
  if (examples.length < PARALLEL_THRESHOLD || threads < 2 || !existsSync(WORKER_FILE)) {
    const out: EncodedExample[] = [];
    for (const example of examples) {
      out.push(encodeRendered(example, tokenizer, maxLength, tokenLabels));
      if (out.length % CHUNK === 0) onProgress(out.length);
    }
    onProgress(out.length);
    return out;
  }
  const results: EncodedExample[][] = [];
  const chunks: number[] = [];
  for (let start = 0; start < examples.length; start += CHUNK) chunks.push(start);
  let next = 0;
  let done = 0;
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_FILE, { workerData: { dir: tokenizer.dir } }));
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
