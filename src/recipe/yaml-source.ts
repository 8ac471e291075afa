import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from "yaml";
import type { Problem, SourceLocation } from "../errors/index.js";

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

export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });

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
        const pair = node.items.find((p) => keyText(p.key) === String(segment));
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

  return {
    value: doc.errors.length > 0 ? undefined : doc.toJS({ maxAliasCount: 100 }),
    problems,
    locateValue(path) {
      const found = walk(path);
      if (found.complete && found.node) return at(found.node.range?.[0]);
      return at((found.parentKey ?? found.node)?.range?.[0] ?? 0);
    },
    locateKey(path, key) {
      const found = walk(path);
      if (found.complete && isMap(found.node)) {
        const pair = found.node.items.find((p) => keyText(p.key) === key);
        const keyNode = pair?.key as Node | undefined;
        if (keyNode?.range) return at(keyNode.range[0]);
      }
      return at(found.node?.range?.[0] ?? 0);
    },
  };
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return key === null || key === undefined ? undefined : String(key);
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}
