import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";

/** Every *.test.ts file under `dir`, as a path from the repository's root. */
function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? testFiles(join(dir, entry.name))
      : entry.name.endsWith(".test.ts")
        ? [relative(ROOT, join(dir, entry.name))]
        : [],
  );
}

describe("the test tiers", () => {
  it("every test file is in a tier's folder, where a vitest project runs it (vitest.config.ts)", () => {
    const files = testFiles(join(ROOT, "test"));
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((file) => !/^test\/(unit|cli|e2e)\/.+\.test\.ts$/.test(file))).toEqual([]);
  });
});
