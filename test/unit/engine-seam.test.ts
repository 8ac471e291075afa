import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";

/** Every package a module loads when imported, following its static relative imports through src/. */
function packagesLoadedBy(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, "utf8");
    // Static imports and re-exports only, `import type` excluded: dynamic import() is the point.
    for (const [, kind, specifier] of source.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)";/gms)) {
      if (kind || !specifier) continue;
      if (specifier.startsWith(".")) visit(resolve(dirname(file), specifier.replace(/\.js$/, ".ts")));
      else packages.add(specifier);
    }
  };
  visit(join(ROOT, entry));
  return packages;
}

const tensorflow = (packages: Set<string>) => [...packages].filter((name) => name.startsWith("@tensorflow/"));

describe("the Engine seam", () => {
  it("the CLI, the library, the torch engine and the runner load TensorFlow.js only through engineFor", () => {
    for (const entry of [
      "src/cli/main.ts",
      "src/index.ts",
      "src/engine/torch/torch-engine.ts",
      "src/engine/index.ts",
      "src/run/run-recipe.ts",
      "src/validate/check-recipe.ts",
      "src/evaluate/evaluate-checkpoint.ts",
      "src/chat/chat-checkpoint.ts",
      "src/engine/initial-adapter.ts",
    ]) {
      expect(tensorflow(packagesLoadedBy(entry)), entry).toEqual([]);
    }
  });

  it("the tfjs engine does load it: the walk above can see TensorFlow.js when it is there", () => {
    expect(tensorflow(packagesLoadedBy("src/engine/tfjs/tfjs-engine.ts"))).toContain("@tensorflow/tfjs-core");
  });
});
