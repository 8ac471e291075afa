import { z } from "zod";
import { RecipeSchema } from "./schema.js";

/** A JSON Schema node, as far as tune reads it. */
export interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  items?: JsonSchemaNode;
  additionalProperties?: JsonSchemaNode | boolean;
  anyOf?: JsonSchemaNode[];
  enum?: unknown[];
  const?: unknown;
  [key: string]: unknown;
}

let cached: JsonSchemaNode | undefined;

/**
 * The recipe's JSON Schema (draft-07, what yaml-language-server and VS Code understand),
 * describing what a user may write: defaults make fields optional.
 */
export function recipeJsonSchema(): JsonSchemaNode {
  cached ??= {
    ...(z.toJSONSchema(RecipeSchema, { io: "input", target: "draft-7" }) as JsonSchemaNode),
    title: "tune recipe",
  };
  return cached;
}

/** The schema node that describes the value at `path`, if the schema has one. */
export function schemaAt(path: readonly PropertyKey[], root = recipeJsonSchema()): JsonSchemaNode | undefined {
  let candidates: JsonSchemaNode[] = [root];
  for (const segment of path) {
    const next: JsonSchemaNode[] = [];
    for (const node of candidates.flatMap(alternatives)) {
      if (typeof segment === "number" && node.items) next.push(node.items);
      const property = node.properties?.[String(segment)];
      if (property) next.push(property);
      else if (typeof node.additionalProperties === "object") next.push(node.additionalProperties);
    }
    if (next.length === 0) return undefined;
    candidates = next;
  }
  return candidates[0];
}

/** Field names allowed in the mapping at `path`. */
export function keysAt(path: readonly PropertyKey[]): string[] {
  const node = schemaAt(path);
  if (!node) return [];
  return alternatives(node).flatMap((n) => Object.keys(n.properties ?? {}));
}

/** Every mapping path (dotted) that accepts a field called `key`. */
export function sectionsWithKey(key: string): string[] {
  const found: string[] = [];
  const visit = (node: JsonSchemaNode, path: string) => {
    for (const alt of alternatives(node)) {
      for (const [name, child] of Object.entries(alt.properties ?? {})) {
        if (name === key) found.push(path);
        visit(child, path === "" ? name : `${path}.${name}`);
      }
    }
  };
  visit(recipeJsonSchema(), "");
  return found;
}

function alternatives(node: JsonSchemaNode): JsonSchemaNode[] {
  return node.anyOf ? node.anyOf.flatMap(alternatives) : [node];
}
