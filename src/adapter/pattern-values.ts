import { createContext, Script } from "node:vm";

/** Longer than any sound pattern takes over a model's module names, by orders of magnitude. */
const MATCH_LIMIT_MS = 1000;

const COMPILE = new Script("patterns = sources.map((source) => new RegExp(source));");
const MATCH = new Script(`
  found = new Map();
  for (const module of modules) {
    for (const [index, pattern] of patterns.entries()) {
      key = index;
      if (pattern.test(module)) { found.set(module, index); break; }
    }
  }
`);

/**
 * PEFT's rank_pattern or alpha_pattern over an adapter's modules: for each module, the value of
 * the first key that matches the end of its name at a dot boundary (keys are regular
 * expressions). Or why not: the keys come from an untrusted adapter_config.json, and a key such
 * as `((\w+)+\.?)*Z` did not finish in 4 s over one real module name, so the matching runs in a
 * vm context whose time limit stops it.
 */
export function patternValues(
  patterns: Record<string, number> | undefined,
  field: string,
  modules: readonly string[],
): Map<string, number> | string {
  const entries = Object.entries(patterns ?? {});
  if (entries.length === 0) return new Map();
  const context = createContext({ modules, sources: entries.map(([key]) => `(^|.*\\.)(${key})$`) });
  try {
    COMPILE.runInContext(context);
  } catch {
    return `adapter_config.json's ${field} has a key that is not a regular expression`;
  }
  try {
    MATCH.runInContext(context, { timeout: MATCH_LIMIT_MS });
  } catch (error) {
    if ((error as { code?: string }).code !== "ERR_SCRIPT_EXECUTION_TIMEOUT") throw error;
    const key = entries[context.key as number]?.[0];
    return `adapter_config.json's ${field} key ${JSON.stringify(key)} did not finish matching the module names within ${MATCH_LIMIT_MS / 1000} s: a regular expression that backtracks without end`;
  }
  const found = context.found as Map<string, number>;
  return new Map([...found].map(([module, index]) => [module, entries[index]?.[1] as number]));
}
