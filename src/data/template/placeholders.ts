/** `{name}` placeholders of a template; `{{` and `}}` are literal braces. */
export function placeholdersOf(template: string): string[] {
  const names = new Set<string>();
  for (const match of template
    .replaceAll("{{", "")
    .replaceAll("}}", "")
    .matchAll(/\{([^{}]+)\}/g))
    names.add(match[1] as string);
  return [...names];
}

/** Fills `{name}` placeholders; every name must be in `values` (checked before rendering). */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{|\}\}|\{([^{}]+)\}/g, (match, name: string | undefined) => {
    if (name === undefined) return match[0] as string;
    return values[name] ?? match;
  });
}

/** Placeholders tune fills itself rather than from a column. */
export const GENERATED_PLACEHOLDERS: ReadonlySet<string> = new Set(["examples", "options", "label"]);
