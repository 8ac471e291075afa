export interface RetryOptions {
  /** Attempts after the first. */
  retries?: number;
  /** First backoff delay; it doubles each attempt. */
  baseDelayMs?: number;
  /** Told before each wait, for a "retrying" line. */
  onRetry?: (why: string, attempt: number, delayMs: number) => void;
}

const MAX_DELAY_MS = 30_000;

/** A non-negative number from the environment (TUNE_HUB_RETRIES, TUNE_HUB_BACKOFF_MS), for slow or flaky links. */
function envNumber(name: string): number | undefined {
  const value = Number(process.env[name]);
  return process.env[name] !== undefined && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Status codes worth another try: rate limiting and server-side failures. */
function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

function delayFor(response: Response | undefined, attempt: number, baseDelayMs: number): number {
  const retryAfter = Number(response?.headers.get("retry-after"));
  if (Number.isFinite(retryAfter) && retryAfter > 0) return Math.min(retryAfter * 1000, MAX_DELAY_MS);
  return Math.min(baseDelayMs * 2 ** attempt, MAX_DELAY_MS);
}

/**
 * A fetch for @huggingface/hub that retries with exponential backoff on 429, 5xx and failed
 * connections (resets, refusals, timeouts). Every request the client sends has a replayable body (a
 * string, bytes or a Blob), so a retry sends the same request again. Aborts are not retried.
 */
export function retryingFetch(options: RetryOptions = {}): typeof fetch {
  const retries = options.retries ?? envNumber("TUNE_HUB_RETRIES") ?? 5;
  const baseDelayMs = options.baseDelayMs ?? envNumber("TUNE_HUB_BACKOFF_MS") ?? 500;
  return async (input, init) => {
    for (let attempt = 0; ; attempt++) {
      let response: Response | undefined;
      let why: string;
      try {
        response = await fetch(input, init);
        if (!retryable(response.status) || attempt >= retries) return response;
        why = `HTTP ${response.status}`;
        await response.body?.cancel();
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        // A host name that does not resolve stays unresolved (offline, or a wrong HF_ENDPOINT);
        // EAI_AGAIN, the transient DNS failure, is retried like any dropped connection.
        if (init?.signal?.aborted || attempt >= retries || cause?.code === "ENOTFOUND") throw error;
        why = cause?.code ?? cause?.message ?? (error as Error).message;
      }
      const delay = delayFor(response, attempt, baseDelayMs);
      options.onRetry?.(why, attempt + 1, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };
}
