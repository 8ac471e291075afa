/**
 * A repo on the Hub: its kind decides its API path (`/api/models/…`, `/api/datasets/…`), its page
 * (`/<id>`, `/datasets/<id>`) and its cache folder (`models--…`, `datasets--…`).
 */
export interface HubRepo {
  type: "model" | "dataset";
  id: string;
}

/** The repo's page on the Hub, where access to a gated repo is requested. */
export function repoPage(endpoint: string, repo: HubRepo): string {
  return repo.type === "model" ? `${endpoint}/${repo.id}` : `${endpoint}/datasets/${repo.id}`;
}
