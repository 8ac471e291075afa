import { describe, expect, it } from "vitest";
import { setupPython } from "../../src/engine/torch/setup-python.js";
import { failure } from "../support/hub-fixture.js";
import { tempDir } from "../support/temp-dir.js";

// The venv exists (npm test made it), so these never create one; pip changes nothing when it fails.
describe("tune setup python and a package index it cannot reach", () => {
  it("finishes offline when the venv already has everything", async () => {
    const result = await setupPython({ indexUrl: "file:///nonexistent/simple" });
    expect(result.created).toBe(false);
    expect(result.packages.torch).toBeTruthy();
  }, 120_000);

  it.each(["file:///nonexistent/simple", "http://127.0.0.1:9/simple"])(
    "fails at once with one message naming %s and what to set, when pip would need it",
    async (index) => {
      const dir = tempDir({ "more.txt": "tune-no-such-package==1.0\n" });
      const started = Date.now();
      const failed = await failure(setupPython({ indexUrl: index, extraRequirements: [`${dir}/more.txt`] }));
      expect(failed.code).toBe("setup-index-unreachable");
      expect(failed.exitCode).toBe(4);
      expect(failed.message).toContain(`cannot reach the package index ${index}`);
      expect(failed.message).toContain("tune-no-such-package");
      expect(failed.hint).toContain("Set PIP_INDEX_URL");
      expect(Date.now() - started).toBeLessThan(60_000);
    },
    120_000,
  );
});
