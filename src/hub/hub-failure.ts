import { HubApiError } from "@huggingface/hub";
import { ExitCode, isTuneError, redactSecrets, TuneError } from "../errors/index.js";
import type { HubToken } from "./hub-environment.js";
import { repoPage, type HubRepo } from "./hub-repo.js";

export interface HubContext {
  endpoint: string;
  repo: string;
  /** What kind of repo it is (default model): messages say "gated dataset" and link the dataset's page. */
  type?: HubRepo["type"];
  revision?: string;
  token: HubToken | undefined;
  /** What was being done, e.g. "download" or "push". */
  action: "download" | "push";
}

/** Connection-level failures: the request never got an answer. */
const NETWORK_CODES = /^(E[A-Z_]+|UND_ERR_[A-Z_]+|ABORT_ERR)$/;

/** What a server or library said, cut to its first sentence and cleaned of secrets: it is shown to the user. */
function serverSaid(text: string): string {
  const first = text.split(". URL:")[0] ?? "";
  return redactSecrets(first.length > 300 ? `${first.slice(0, 297)}...` : first);
}

/**
 * Turns a failed Hub call into one message that says what to check: the token (named by where
 * it came from, never shown), access to a gated repo, the repo id, the connection, or a Hub
 * whose answers make no sense. Every text a server sent passes the redaction point first.
 */
export function hubFailure(error: unknown, context: HubContext): TuneError {
  if (isTuneError(error)) return error;
  const { endpoint, repo, token, action } = context;
  const type = context.type ?? "model";
  const where = repoPage(endpoint, { type, id: repo });
  if (error instanceof HubApiError) {
    // A body that is not JSON reaches the message only through `data` (proxies answer in HTML or text).
    const text = (error.data as { message?: unknown } | undefined)?.message;
    const said = serverSaid(
      /^Api error with status \d+/.test(error.message) && typeof text === "string" && text.trim()
        ? text.trim().replace(/\s+/g, " ")
        : error.message,
    );
    if (error.statusCode === 401) {
      return TuneError.single(
        token
          ? {
              code: "hub-token-rejected",
              message: `the Hub rejected the token from ${token.source} (HTTP 401 for ${repo})`,
              hint: "The token is wrong, expired or revoked: create one at https://huggingface.co/settings/tokens and set HF_TOKEN, or run `huggingface-cli login`.",
            }
          : {
              code: "hub-token-missing",
              message: `${where} needs a token (HTTP 401): the repo is private or gated, or does not exist`,
              hint: "Set HF_TOKEN (or run `huggingface-cli login`) with a token that can read it, and check the repo id.",
            },
        ExitCode.environment,
      );
    }
    if (error.statusCode === 403) {
      const gated = /gated|restricted|access to (model|dataset)|awaiting a review|authorized list/i.test(said);
      if (gated) {
        return TuneError.single(
          {
            code: "hub-gated",
            message: `${repo} is a gated ${type} and this account has no access to it (${said})`,
            hint: `Request access at ${where}, wait for approval, and use a token of that account (from ${token?.source ?? "HF_TOKEN"}).`,
          },
          ExitCode.environment,
        );
      }
      return TuneError.single(
        {
          code: "hub-forbidden",
          message: `the Hub refused to ${action === "push" ? "let this token write to" : "serve"} ${repo} (HTTP 403: ${said})`,
          hint:
            action === "push"
              ? `Use a token with write access to ${repo} (a fine-grained token needs "write" on that repo or its organisation).`
              : "Check that the token's account may read this repo.",
        },
        ExitCode.environment,
      );
    }
    if (error.statusCode === 404) {
      const what = context.revision ? `${repo} at revision ${context.revision}` : repo;
      return TuneError.single(
        {
          code: "hub-not-found",
          message: `the ${type} ${what} does not exist on ${endpoint} (HTTP 404)`,
          hint: `Check the repo id and revision for typos (ids are owner/name), and that it is a ${type} repo.`,
        },
        ExitCode.user,
      );
    }
    return TuneError.single(
      {
        code: "hub-error",
        message: `the Hub answered HTTP ${error.statusCode} for ${repo}: ${said}`,
        hint: "The Hub may be having trouble; run the same command again later.",
      },
      ExitCode.environment,
    );
  }
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (
    (typeof cause === "string" && NETWORK_CODES.test(cause)) ||
    message === "fetch failed" ||
    (error as Error).name === "AbortError"
  ) {
    return TuneError.single(
      {
        code: "hub-unreachable",
        message: `cannot reach ${endpoint} to ${action} ${repo}: ${typeof cause === "string" ? cause : serverSaid(message)}`,
        hint:
          action === "download"
            ? "Check the network or HF_ENDPOINT; with HF_HUB_OFFLINE=1 tune uses only the local cache."
            : "Check the network or HF_ENDPOINT, then run the same command again.",
      },
      ExitCode.environment,
    );
  }
  // Anything else came out of reading an answer: the server said something a Hub does not say.
  return TuneError.single(
    {
      code: "hub-invalid-reply",
      message: `the Hub at ${endpoint} sent an answer for ${repo} that tune cannot read: ${serverSaid(message)}`,
      hint: "A Hub that sends this is broken or not a Hugging Face Hub: check HF_ENDPOINT (and any proxy), then run again.",
    },
    ExitCode.environment,
  );
}
