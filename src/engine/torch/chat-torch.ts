import { join } from "node:path";
import { ExitCode, TuneError } from "../../errors/index.js";
import type { RunPlan } from "../../recipe/index.js";
import type { ReplyGenerator, ReplyRequest } from "../reply-generator.js";
import { refusedInput, runBridge, type BridgeRun } from "./bridge-process.js";

function bridgeFailed(run: BridgeRun | null, why: string): TuneError {
  const refused = run && refusedInput(run);
  if (refused) return refused;
  return TuneError.single(
    {
      code: "bridge-failed",
      message: `the torch worker stopped: ${run?.error?.message ?? why}`,
      hint: run?.error?.traceback
        ? `Its traceback ends:\n${run.error.traceback.trim().split("\n").slice(-4).join("\n")}`
        : (run?.stderrTail ?? "Run `tune doctor` to check the torch environment."),
    },
    ExitCode.environment,
  );
}

/**
 * The checkpoint loaded once in a long-lived torch worker (`python -m tune_bridge chat`): each
 * request goes to its stdin as a JSON line and the generated ids come back as a `reply` event.
 */
export async function torchReplies(plan: RunPlan, modelDir: string, checkpoint: string): Promise<ReplyGenerator> {
  let send: (line: string) => void = () => {};
  let end: () => void = () => {};
  let waiting: { resolve: (ids: number[]) => void; reject: (error: Error) => void } | null = null;
  let ready: () => void = () => {};
  const started = new Promise<void>((resolve) => (ready = resolve));
  const worker = runBridge(
    ["chat", "--plan", join(plan.run_dir, "plan.json"), "--model-dir", modelDir, "--checkpoint", checkpoint],
    {
      input: (write, close) => {
        send = write;
        end = close;
      },
      onEvent: (event) => {
        if (event.type === "ready") ready();
        if (event.type === "reply" && waiting) {
          waiting.resolve(event.ids as number[]);
          waiting = null;
        }
      },
    },
  );
  // Whatever ends the worker early fails the reply or the start that is waiting for it.
  const stopped = worker.then((run) => {
    const error = bridgeFailed(run, `it exited with code ${run.exitCode}`);
    waiting?.reject(error);
    waiting = null;
    throw error;
  });
  stopped.catch(() => {});
  await Promise.race([started, stopped]);
  return {
    reply: (request: ReplyRequest) =>
      new Promise<number[]>((resolve, reject) => {
        waiting = { resolve, reject };
        send(
          JSON.stringify({
            ids: request.ids,
            stop_ids: request.stopIds,
            max_new_tokens: request.maxNewTokens,
            temperature: request.temperature,
            top_p: request.topP,
          }),
        );
      }),
    async close() {
      end();
      await worker.catch(() => undefined);
    },
  };
}
