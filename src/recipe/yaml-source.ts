import {
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from "yaml";
import { formatFieldPath, type Problem, type SourceLocation } from "../errors/index.js";

/** A parsed YAML recipe that can say where any field path sits in the text. */
export interface YamlSource {
  value: unknown;
  problems: Problem[];
  /** Location of the value at `path`, or of the nearest enclosing key when it is missing. */
  locateValue(path: readonly PropertyKey[]): SourceLocation;
  /** Location of the key `key` inside the mapping at `path`. */
  locateKey(path: readonly PropertyKey[], key: string): SourceLocation;
}

interface Found {
  node: Node | null;
  /** The key of the last pair walked into, so a missing child can point at its parent. */
  parentKey: Node | null;
  complete: boolean;
}

/** Aliases a recipe may expand; more is how a "billion laughs" document exhausts memory. */
const MAX_ALIAS_COUNT = 100;

export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  // Duplicate keys are found below in one pass: the parser's own check compares every key with
  // every other (50,000 keys took minutes).
  const doc: Document = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  // Keys of each mapping by name, built once per mapping: locating thousands of problems stays linear.
  const keyIndex = new WeakMap<YAMLMap, Map<string, Pair>>();
  const pairOf = (map: YAMLMap, key: string): Pair | undefined => {
    let index = keyIndex.get(map);
    if (!index) {
      index = new Map();
      for (const pair of map.items) {
        const name = keyText(pair.key);
        if (name !== undefined && !index.has(name)) index.set(name, pair);
      }
      keyIndex.set(map, index);
    }
    return index.get(key);
  };

  const at = (offset: number | undefined): SourceLocation => {
    if (offset === undefined) return { file };
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };

  const walk = (path: readonly PropertyKey[]): Found => {
    let node = (doc.contents ?? null) as Node | null;
    let parentKey: Node | null = null;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = pairOf(node, String(segment));
        if (!pair) return { node, parentKey, complete: false };
        parentKey = pair.key as Node;
        node = (pair.value ?? null) as Node | null;
        if (node === null) return { node: parentKey, parentKey, complete: false };
      } else if (isSeq(node) && typeof segment === "number" && node.items[segment]) {
        node = node.items[segment] as Node;
      } else {
        return { node, parentKey, complete: false };
      }
    }
    return { node, parentKey, complete: true };
  };

  // One mistake often trips several parser errors at the same line; the first says it best.
  const problems: Problem[] = [];
  const linesSeen = new Set<number | undefined>();
  for (const error of [...doc.errors, ...doc.warnings]) {
    const location = at(error.pos[0]);
    if (linesSeen.has(location.line)) continue;
    linesSeen.add(location.line);
    problems.push({
      code: "yaml-syntax",
      message: `YAML: ${firstLine(error.message)}`,
      location,
      hint: "Fix the YAML syntax here or on the line below (indentation, a missing ':' or an unclosed quote are the usual causes).",
    });
  }

  problems.push(...duplicateKeys(doc, at));
  let value: unknown;
  if (problems.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      problems.push({
        code: "yaml-aliases",
        message: `YAML: ${firstLine((error as Error).message)}`,
        location: { file },
        hint: `A recipe may expand at most ${MAX_ALIAS_COUNT} aliases (*name); write the values out instead.`,
      });
    }
  }

  return {
    value,
    problems,
    locateValue(path) {
      const found = walk(path);
      if (found.complete && found.node) return at(found.node.range?.[0]);
      return at((found.parentKey ?? found.node)?.range?.[0] ?? 0);
    },
    locateKey(path, key) {
      const found = walk(path);
      if (found.complete && isMap(found.node)) {
        const pair = pairOf(found.node, key);
        const keyNode = pair?.key as Node | undefined;
        if (keyNode?.range) return at(keyNode.range[0]);
      }
      return at(found.node?.range?.[0] ?? 0);
    },
  };
}

/**
 * Every key that repeats within its mapping, with its field path and where the first one is:
 * YAML parsers keep one of the two silently, and which one is rarely what was meant.
 */
function duplicateKeys(doc: Document, at: (offset: number | undefined) => SourceLocation): Problem[] {
  const problems: Problem[] = [];
  const visit = (node: unknown, path: PropertyKey[]): void => {
    if (isMap(node)) {
      const first = new Map<string, Pair>();
      for (const pair of node.items) {
        const name = keyText(pair.key);
        if (name === undefined) {
          const field = formatFieldPath(path);
          problems.push({
            code: "yaml-complex-key",
            message: `${field || "recipe"}: a key here is a mapping or a list; recipe keys are plain names`,
            ...(field ? { field } : {}),
            location: at((pair.key as Node | null)?.range?.[0] ?? node.range?.[0]),
            hint: "Write `name: value`; a `{`, `[` or `?` where a key belongs is usually a stray character.",
          });
          continue;
        }
        const earlier = first.get(name);
        if (earlier) {
          const field = formatFieldPath([...path, name]);
          problems.push({
            code: "yaml-duplicate-key",
            message: `${field}: this key appears twice in the same mapping (first at line ${at((earlier.key as Node).range?.[0]).line})`,
            field,
            location: at((pair.key as Node).range?.[0]),
            hint: "Keep one of the two; a YAML reader would silently use only one.",
          });
        } else first.set(name, pair);
        visit(pair.value, [...path, name]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, [...path, i]));
    }
  };
  visit(doc.contents, []);
  return problems;
}

/** A key's name; keys that are mappings or lists have none (turning one into text can take exponential time). */
function keyText(key: unknown): string | undefined {
  return isScalar(key) ? String(key.value) : undefined;
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}
