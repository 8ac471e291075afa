import { hubEndpoint, readHubToken, type HubToken } from "./hub-environment.js";
import { retryingFetch, type RetryOptions } from "./retrying-fetch.js";

/**
 * What the client library is told the token is. It refuses any token that does not start with
 * `hf_` (mirrors and enterprise hubs issue others) and reported that as a network failure, so it
 * never sees the real one: it puts this stand-in in its headers, and the session's fetch swaps in
 * the real token for requests to the Hub's own origin.
 */
const STAND_IN = "hf_token_added_by_tune_for_the_hub_origin";

/** What every call to a Hub needs: where it is, the token (if any) and the fetch that carries it. */
export interface HubSession {
  endpoint: string;
  token: HubToken | undefined;
  /** Spread into every @huggingface/hub call. */
  client: { hubUrl: string; fetch: typeof fetch; accessToken: string | undefined };
}

/**
 * The one place a token enters a request: `Authorization: Bearer <token>` on requests to the
 * endpoint's origin, and on no other (LFS uploads to storage elsewhere, cross-origin redirects,
 * which fetch strips of the header, Xet's storage with its own tokens). Every request retries.
 */
export function openHubSession(options: RetryOptions = {}): HubSession {
  const endpoint = hubEndpoint();
  const token = readHubToken(endpoint);
  const origin = new URL(endpoint).origin;
  const retrying = retryingFetch(options);
  const authorized: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(input instanceof Request ? input.headers : undefined);
    new Headers(init?.headers).forEach((value, key) => headers.set(key, value));
    const stood = headers.get("authorization") === `Bearer ${STAND_IN}`;
    if (url.origin === origin && token && (stood || !headers.has("authorization")))
      headers.set("authorization", `Bearer ${token.value}`);
    else if (stood) headers.delete("authorization");
    return retrying(input, { ...init, headers });
  };
  return {
    endpoint,
    token,
    client: { hubUrl: endpoint, fetch: authorized, accessToken: token ? STAND_IN : undefined },
  };
}
