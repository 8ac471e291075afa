import { recipeJsonSchema, type JsonSchemaNode } from "./json-schema.js";

/**
 * The recipe reference in Markdown, generated from the schema so it cannot drift from what
 * `tune validate` accepts. One table per section, one row per field.
 */
export function recipeReferenceMarkdown(): string {
  const root = recipeJsonSchema();
  const lines = [
    "# Recipe reference",
    "",
    "<!-- Generated from src/recipe/schema.ts by `npm run generate`; do not edit by hand. -->",
    "",
    root.description ?? "",
    "",
    "Required fields are marked **required**; everything else has the default shown or is optional.",
    "",
  ];
  const topLevel: [string, JsonSchemaNode][] = [];
  const sections: [string, JsonSchemaNode][] = [];
  for (const [name, node] of Object.entries(root.properties ?? {})) {
    (objectNode(node) ? sections : topLevel).push([name, node]);
  }
  lines.push("## Top level", "", ...table(topLevel, root.required ?? []), "");
  const visit = (path: string, node: JsonSchemaNode) => {
    const object = objectNode(node);
    if (!object) return;
    lines.push(`## \`${path}\``, "", node.description ?? object.description ?? "", "");
    const fields = Object.entries(object.properties ?? {});
    lines.push(...table(fields, object.required ?? []), "");
    for (const [name, child] of fields) visit(`${path}.${name}`, child);
  };
  for (const [name, node] of sections) visit(name, node);
  return `${lines
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trimEnd()}\n`;
}

function table(fields: [string, JsonSchemaNode][], required: string[]): string[] {
  return [
    "| field | type | default | description |",
    "| --- | --- | --- | --- |",
    ...fields.map(([name, node]) => {
      const fallback = required.includes(name)
        ? "**required**"
        : node.default === undefined
          ? ""
          : `\`${JSON.stringify(node.default)}\``;
      return `| \`${name}\` | ${typeOf(node)} | ${fallback} | ${(node.description ?? "").replaceAll("|", "\\|")} |`;
    }),
  ];
}

function objectNode(node: JsonSchemaNode): JsonSchemaNode | undefined {
  if (node.properties) return node;
  return node.anyOf?.find((alt) => alt.properties);
}

function typeOf(node: JsonSchemaNode): string {
  if (node.enum) return node.enum.map((v) => `\`${JSON.stringify(v)}\``).join(" \\| ");
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (node.anyOf) return node.anyOf.map(typeOf).join(" \\| ");
  if (node.type === "array") return `list of ${node.items ? typeOf(node.items) : "values"}`;
  if (node.type === "object") return node.properties ? "section" : "mapping";
  const bounds = [
    node.minimum !== undefined ? `>= ${node.minimum}` : undefined,
    node.exclusiveMinimum !== undefined ? `> ${node.exclusiveMinimum}` : undefined,
    node.maximum !== undefined ? `<= ${node.maximum}` : undefined,
    node.exclusiveMaximum !== undefined ? `< ${node.exclusiveMaximum}` : undefined,
  ].filter(Boolean);
  const base = Array.isArray(node.type) ? node.type.join(" \\| ") : (node.type ?? "any");
  return bounds.length > 0 ? `${base} (${bounds.join(", ")})` : base;
}
