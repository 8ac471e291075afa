/**
 * One shell word that is exactly `value`: inside single quotes nothing expands (`$`, backticks,
 * `\`, newlines are literal), and a single quote itself is closed, escaped and reopened.
 */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
