import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { builtinModelDir } from "../../src/builtin/index.js";
import { isTuneError } from "../../src/errors/index.js";
import { startFakeHub, type FakeHub } from "./hub-server.js";
import { tempDir } from "./temp-dir.js";

export interface HubFixture {
  hub: FakeHub;
  /** A real tiny Llama's files (config, tokenizer, safetensors), to serve as a model repo. */
  modelFiles: Record<string, Buffer>;
  /** This test's Hugging Face cache (HF_HUB_CACHE). */
  cache: string;
}

/**
 * A local Hub for a test file, with `token` known to it as user "reader", and per test a fresh
 * Hugging Face cache, no token in the environment, and no faults; the environment is restored
 * after each test.
 */
export function useFakeHub(token: string): HubFixture {
  const fixture = {} as HubFixture;
  beforeAll(async () => {
    fixture.hub = await startFakeHub();
    fixture.hub.tokens.set(token, "reader");
    const dir = builtinModelDir("tiny-llama", tempDir()) as string;
    fixture.modelFiles = Object.fromEntries(
      ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"].map((f) => [
        f,
        readFileSync(join(dir, f)),
      ]),
    );
  });
  afterAll(async () => fixture.hub.close());
  const saved = { ...process.env };
  beforeEach(() => {
    fixture.cache = tempDir();
    process.env.HF_ENDPOINT = fixture.hub.url;
    process.env.HF_HUB_CACHE = fixture.cache;
    process.env.HF_TOKEN_PATH = join(fixture.cache, "no-token-here");
    delete process.env.HF_TOKEN;
    delete process.env.HF_HUB_OFFLINE;
    fixture.hub.requests.length = 0;
    fixture.hub.faults.length = 0;
    fixture.hub.intercept = undefined;
  });
  afterEach(() => {
    process.env = { ...saved };
  });
  return fixture;
}

/** The TuneError a promise rejects with, as code, message, hint and exit code. */
export async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTuneError(error)) throw new Error(`expected a TuneError, got ${String(error)}`);
  const problem = error.problems[0];
  return {
    code: problem?.code,
    message: problem?.message ?? "",
    hint: problem?.hint ?? "",
    text: `${problem?.message ?? ""}\n${problem?.hint ?? ""}`,
    exitCode: error.exitCode,
  };
}
