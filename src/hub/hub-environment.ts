import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ExitCode, registerSecret, TuneError } from "../errors/index.js";

export const PUBLIC_HUB = "https://huggingface.co";

/**
 * Where the Hub lives: `HF_ENDPOINT` (mirrors, private hubs), else huggingface.co. The JS client
 * does not read it itself. An endpoint that is not a plain http(s) address is refused here,
 * rather than failing later as an unreachable network.
 */
export function hubEndpoint(): string {
  const raw = process.env.HF_ENDPOINT?.trim() || PUBLIC_HUB;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (
    !url ||
    (url.protocol !== "https:" && url.protocol !== "http:") ||
    url.username ||
    url.password ||
    url.search ||
    url.hash
  ) {
    throw TuneError.single(
      {
        code: "hub-endpoint-invalid",
        message: "HF_ENDPOINT is not a plain http(s) address of a Hub",
        location: { file: "HF_ENDPOINT" },
        hint: "Set it like https://hf-mirror.example.org (no credentials, query or fragment in it; the token goes in HF_TOKEN), or unset it for huggingface.co.",
      },
      ExitCode.environment,
    );
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/**
 * Xet is the public Hub's storage protocol; mirrors and self-hosted endpoints speak plain Git
 * LFS, so anything that is not huggingface.co gets LFS uploads and plain downloads.
 */
export function speaksXet(endpoint: string): boolean {
  return endpoint === PUBLIC_HUB;
}

function hfHome(): string {
  return process.env.HF_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
}

/** The Hugging Face cache Python shares: HF_HUB_CACHE, else $HF_HOME/hub. */
export function hubCacheDir(): string {
  return process.env.HF_HUB_CACHE ?? join(hfHome(), "hub");
}

/** HF_HUB_OFFLINE=1 (as huggingface_hub reads it): use the cache and never touch the network. */
export function hubOffline(): boolean {
  return ["1", "true", "yes", "on"].includes((process.env.HF_HUB_OFFLINE ?? "").toLowerCase());
}

export interface HubToken {
  value: string;
  /** Where it came from, for messages: the token itself is never shown. */
  source: string;
}

/**
 * HF_TOKEN, else the token file `huggingface-cli login` writes (HF_TOKEN_PATH, else
 * $HF_HOME/token). The value is registered for redaction before anything can echo it, and a
 * token that cannot be sent (spaces, control or non-ASCII characters; on huggingface.co, no
 * `hf_` prefix) is refused here, saying which and where it came from, but never what it is.
 */
export function readHubToken(endpoint: string): HubToken | undefined {
  const token = rawToken();
  if (!token) return undefined;
  registerSecret(token.value);
  const bad = [...token.value].findIndex((char) => char < "!" || char > "~");
  const why =
    bad >= 0
      ? `character ${bad + 1} is a space, control or non-ASCII character, which an HTTP header cannot carry`
      : endpoint === PUBLIC_HUB && !token.value.startsWith("hf_")
        ? "tokens of huggingface.co start with hf_"
        : undefined;
  if (why) {
    throw TuneError.single(
      {
        code: "hub-token-malformed",
        message: `the Hugging Face token from ${token.source} is malformed: ${why}`,
        location: { file: token.source },
        hint: "Copy the token again from https://huggingface.co/settings/tokens (or your Hub's settings) without extra characters, or run `huggingface-cli login`.",
      },
      ExitCode.environment,
    );
  }
  return token;
}

function rawToken(): HubToken | undefined {
  const fromEnv = process.env.HF_TOKEN?.trim();
  if (fromEnv) return { value: fromEnv, source: "HF_TOKEN" };
  const file = process.env.HF_TOKEN_PATH ?? join(hfHome(), "token");
  if (!existsSync(file)) return undefined;
  let value: string;
  try {
    value = readFileSync(file, "utf8").trim();
  } catch (error) {
    throw TuneError.single(
      {
        code: "hub-token-unreadable",
        message: `cannot read the Hugging Face token file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        location: { file },
        hint: "Fix its permissions, set HF_TOKEN instead, or point HF_TOKEN_PATH elsewhere.",
      },
      ExitCode.environment,
    );
  }
  return value ? { value, source: file } : undefined;
}
