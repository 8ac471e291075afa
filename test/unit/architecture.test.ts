import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";

const SRC = join(ROOT, "src");

/** Every src/ folder and the other src/ folders its files import (type-only and lazy imports included). */
function folderImports(): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (path.endsWith(".ts") && dir !== SRC) {
        const from = relative(SRC, dir).split(sep)[0] as string;
        const targets = edges.get(from) ?? new Set<string>();
        edges.set(from, targets);
        // Static imports, re-exports and the CLI's lazy import("...") alike.
        const source = readFileSync(path, "utf8");
        const specifiers = [
          ...source.matchAll(/^(?:import|export)[^;]*?from\s+"(\.[^"]+)";/gms),
          ...source.matchAll(/import\("(\.[^"]+)"\)/g),
        ];
        for (const [, specifier] of specifiers) {
          const to = relative(SRC, resolve(dirname(path), specifier as string)).split(sep)[0] as string;
          if (to !== from && !to.endsWith(".js")) targets.add(to);
        }
      }
    }
  };
  visit(SRC);
  return edges;
}

/** The folder table of docs/architecture.md: folder -> the folders it says it imports. */
function documentedImports(): Map<string, Set<string>> {
  const doc = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Folders and what each may import"));
  const rows = [...section.matchAll(/^\| `([a-z]+)` +\|[^|]*\|([^|\n]*)\|$/gm)];
  return new Map(rows.map(([, folder, imports]) => [folder as string, new Set(imports?.match(/[a-z]+/g) ?? [])]));
}

describe("docs/architecture.md", () => {
  it("its folder table lists every src/ folder with exactly the folders it imports", () => {
    const actual = folderImports();
    const documented = documentedImports();
    expect([...documented.keys()].sort()).toEqual([...actual.keys()].sort());
    for (const [folder, imports] of actual) {
      expect([...(documented.get(folder) ?? [])].sort(), `${folder} imports`).toEqual([...imports].sort());
    }
  });

  it("the folders import each other in no circle", () => {
    const edges = folderImports();
    const state = new Map<string, "open" | "done">();
    const circles: string[] = [];
    const visit = (folder: string, path: string[]) => {
      state.set(folder, "open");
      for (const next of edges.get(folder) ?? []) {
        if (state.get(next) === "open") circles.push([...path.slice(path.indexOf(next)), folder, next].join(" -> "));
        else if (!state.has(next)) visit(next, [...path, folder]);
      }
      state.set(folder, "done");
    };
    for (const folder of edges.keys()) if (!state.has(folder)) visit(folder, []);
    expect(circles).toEqual([]);
  });
});
