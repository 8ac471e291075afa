const secrets = new Set<string>();

/** The shortest value worth redacting: shorter ones would blank out ordinary words. */
const MIN_SECRET_LENGTH = 8;

// Shapes a credential takes in text a server or library sends back, whoever's it is: an
// Authorization header echoed in a body, a Hugging Face token, a URL with a password in it.
const PATTERNS: Array<[RegExp, string]> = [
  [/\b(authorization|proxy-authorization)(["']?\s*[:=]\s*["']?)[^"',;\r\n}]+/gi, "$1$2[redacted]"],
  [/\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 [redacted]"],
  [/\bhf_[A-Za-z0-9]{6,}/g, "hf_[redacted]"],
  [/(\/\/)[^/@\s:]+:[^/@\s]+@/g, "$1[redacted]@"],
];

/** Remembers a secret (a Hub token as it is read) so every later text is cleaned of it. */
export function registerSecret(value: string): void {
  if (value.length >= MIN_SECRET_LENGTH) secrets.add(value);
}

/**
 * The one redaction point: every text that reaches the terminal, a log or a file of a run (a
 * server's body, a library's error message, an event) passes here first. Known secrets go
 * wherever they appear; credential-shaped text goes too, whoever's it is.
 */
export function redactSecrets(text: string): string {
  let clean = text;
  for (const secret of secrets) {
    // Also as it appears inside JSON text, where a quote or backslash in it is escaped.
    for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)]))
      clean = clean.split(form).join("[redacted]");
  }
  for (const [pattern, replacement] of PATTERNS) clean = clean.replace(pattern, replacement);
  return clean;
}

/** redactSecrets on every string inside a value (an event, a --json document), keeping its shape. */
export function redactValue(value: unknown): unknown {
  if (typeof value === "string") return redactSecrets(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (value !== null && typeof value === "object" && !(value instanceof Date))
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, redactValue(inner)]));
  return value;
}
