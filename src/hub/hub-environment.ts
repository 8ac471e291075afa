import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const PUBLIC_HUB = "https://huggingface.co";

/** Where the Hub lives: `HF_ENDPOINT` (mirrors, private hubs), else huggingface.co. The JS client does not read it itself. */
export function hubEndpoint(): string {
  return (process.env.HF_ENDPOINT ?? PUBLIC_HUB).replace(/\/+$/, "");
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

/** HF_TOKEN, else the token file `huggingface-cli login` writes (HF_TOKEN_PATH, else $HF_HOME/token). */
export function readHubToken(): HubToken | undefined {
  const fromEnv = process.env.HF_TOKEN?.trim();
  if (fromEnv) return { value: fromEnv, source: "HF_TOKEN" };
  const file = process.env.HF_TOKEN_PATH ?? join(hfHome(), "token");
  if (!existsSync(file)) return undefined;
  const value = readFileSync(file, "utf8").trim();
  return value ? { value, source: file } : undefined;
}
