import { parentPort, workerData } from "node:worker_threads";
import { encodeRendered, type RenderedExample } from "./encode-rendered.js";
import { loadTokenizer } from "./load-tokenizer.js";

interface Job {
  examples: RenderedExample[];
  maxLength: number;
  tokenLabels: boolean;
}

const tokenizer = loadTokenizer((workerData as { dir: string }).dir);
parentPort?.on("message", (job: Job) => {
  parentPort?.postMessage(
    job.examples.map((example) => encodeRendered(example, tokenizer, job.maxLength, job.tokenLabels)),
  );
});
