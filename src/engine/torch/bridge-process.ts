import { execa } from "execa";
import { ExitCode, TuneError } from "../../errors/index.js";
import type { ClusterNode } from "../engine.js";
import { BRIDGE_DIR, findPython, type PythonChoice } from "../find-python.js";

/** The event protocol this version of tune speaks with python-bridge (tune_bridge/protocol.py). */
export const BRIDGE_PROTOCOL = 1;

export interface BridgeEvent {
  type: string;
  [field: string]: unknown;
}

export interface BridgeRun {
  /** Every event after the protocol handshake. */
  events: BridgeEvent[];
  /** The bridge's `error` event (message and traceback tail; a code and hint for input it refused), when it reported one. */
  error: { message: string; traceback: string; code?: string; hint?: string } | null;
  exitCode: number | null;
  /** The last lines of stderr (logs, or a crash the bridge could not report). */
  stderrTail: string;
}

/**
 * The interpreter's arguments that start the bridge: `-m tune_bridge <args>` in one process,
 * or under torchrun (torch.distributed.run, wrapped so that it dies with tune; the same
 * interpreter and its packages) with one process per GPU, or per CPU share with gloo. Across
 * nodes the rendezvous is torchrun's static one, hosted by node 0 at the endpoint: it keeps
 * node ranks as given (c10d's orders nodes by host name and process id), so node 0's processes
 * are global ranks 0.. and node 0 writes the run directory. One failure ends the run
 * (no restarts): re-running the same commands resumes from the last checkpoint.
 */
export function bridgeCommand(args: readonly string[], processes = 1, node?: ClusterNode): string[] {
  if (!node && processes <= 1) return ["-m", "tune_bridge", ...args];
  const where = node
    ? [
        `--nnodes=${node.nodes}`,
        `--node_rank=${node.rank}`,
        "--rdzv_backend=static",
        `--rdzv_endpoint=${node.endpoint}`,
        `--rdzv_conf=timeout=${node.timeoutS}`,
        "--max_restarts=0",
      ]
    : ["--standalone"];
  return ["-m", "tune_bridge.launch", ...where, `--nproc_per_node=${processes}`, "-m", "tune_bridge", ...args];
}

/**
 * Runs `python -m tune_bridge <args>` and streams its events: refuses a bridge that speaks
 * another protocol, turns `shouldStop` into one SIGINT (the bridge saves a checkpoint at the
 * next step and exits), and never leaves the process behind (execa kills it when tune exits).
 */
export async function runBridge(
  args: string[],
  options: {
    onEvent?: (event: BridgeEvent) => void;
    shouldStop?: () => boolean;
    processes?: number;
    node?: ClusterNode;
    python?: PythonChoice;
    input?: (write: (line: string) => void, end: () => void) => void;
  } = {},
): Promise<BridgeRun> {
  const python = options.python ?? findPython();
  const child = execa(python.command, bridgeCommand(args, options.processes, options.node), {
    cwd: BRIDGE_DIR,
    env: {
      PYTHONPATH: BRIDGE_DIR,
      PYTHONUNBUFFERED: "1",
      TRANSFORMERS_VERBOSITY: "error",
      TOKENIZERS_PARALLELISM: "false",
      // The worker checks that every node prepared the same data, and names a node that did not.
      ...(options.node ? { TUNE_NODE_RANK: String(options.node.rank) } : {}),
    },
    reject: false,
    buffer: false,
    cleanup: true,
    forceKillAfterDelay: 30_000,
  });
  // Requests to a long-lived worker (chat) go to its stdin, one JSON line each.
  options.input?.(
    (line) => child.stdin?.write(`${line}\n`),
    () => child.stdin?.end(),
  );
  const events: BridgeEvent[] = [];
  let error: BridgeRun["error"] = null;
  let handshake: string | null = null;
  let stderr = "";
  let pending = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8_000);
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
      if (line === "") continue;
      let event: BridgeEvent;
      try {
        event = JSON.parse(line) as BridgeEvent;
      } catch {
        stderr = (stderr + `${line}\n`).slice(-8_000);
        continue;
      }
      if (handshake === null) {
        handshake =
          event.type === "hello" && event.protocol === BRIDGE_PROTOCOL
            ? "ok"
            : `the bridge's first event was ${line.slice(0, 200)}`;
        if (handshake !== "ok") child.kill("SIGKILL");
        continue;
      }
      if (event.type === "error")
        error = {
          message: String(event.message),
          traceback: String(event.traceback ?? ""),
          ...(typeof event.code === "string" ? { code: event.code, hint: String(event.hint ?? "") } : {}),
        };
      else {
        events.push(event);
        options.onEvent?.(event);
      }
    }
  });
  let interrupted = false;
  const poll = setInterval(() => {
    if (!interrupted && options.shouldStop?.() === true) {
      interrupted = true;
      child.kill("SIGINT");
    }
  }, 100);
  const result = await child;
  clearInterval(poll);
  if (handshake !== "ok" && options.node) {
    const missed = rendezvousFailure(stderr, options.node);
    if (missed) throw missed;
  }
  if (handshake !== "ok") {
    const started = !(result.failed && result.exitCode === undefined);
    const why = handshake ?? (stderr.trim().split("\n").slice(-3).join(" | ") || "it wrote no events");
    throw TuneError.single(
      {
        code: "bridge-mismatch",
        message: started
          ? `the torch engine's Python worker (${python.command}, from ${python.source}) does not speak tune's protocol ${BRIDGE_PROTOCOL}: ${why}`
          : `cannot start ${python.command} (from ${python.source}): ${(result as { code?: string }).code ?? result.shortMessage?.split("\n")[0] ?? "unknown error"}`,
        hint: "Run `tune setup python` to (re)create python-bridge/.venv, or point TUNE_PYTHON at an interpreter with the bridge's requirements; `tune doctor` shows what it finds.",
      },
      ExitCode.environment,
    );
  }
  return {
    events,
    error,
    exitCode: result.exitCode ?? null,
    stderrTail: stderr.trim().split("\n").slice(-15).join("\n"),
  };
}

/**
 * Input the bridge refused (a pickle in a checkpoint, a model that needs remote code): the
 * user's to fix, exit 2, said as the bridge said it. Null for any other failure.
 */
export function refusedInput(run: BridgeRun): TuneError | null {
  if (!run.error?.code) return null;
  return TuneError.single({ code: run.error.code, message: run.error.message, hint: run.error.hint }, ExitCode.user);
}

/**
 * torchrun's rendezvous gave up before any worker started: node 0 saw too few nodes arrive
 * (its store says how many), or this node never reached node 0. Null for any other failure.
 */
export function rendezvousFailure(stderr: string, node: ClusterNode): TuneError | null {
  const joined = /(\d+)\/(\d+) clients joined/.exec(stderr);
  const unreachable = /timed out after \d+ms while trying to connect to/i.test(stderr);
  if (!joined && !unreachable) return null;
  const message = joined
    ? `node 0 waited ${node.timeoutS} s at ${node.endpoint} for ${node.nodes} nodes, and only ${joined[1]} arrived (node 0 among them)`
    : `node ${node.rank} could not reach node 0's rendezvous at ${node.endpoint} within ${node.timeoutS} s`;
  return TuneError.single(
    {
      code: "rendezvous-timeout",
      message,
      hint: `Start the same \`tune recipe\` on every node (ranks 0 to ${node.nodes - 1}) within distributed.rendezvous.timeout_s, and check that ${node.endpoint} is node 0's address and reachable from the others.`,
    },
    ExitCode.environment,
  );
}
