import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without type declarations
import { chromiumPlan } from "../../scripts/prepare-tests.mjs";

type Plan = { action: "none" } | { action: "install"; attempts: string[][] } | { action: "refuse"; message: string };
const plan = chromiumPlan as (state: { found: boolean; root: boolean }) => Plan;

describe("what npm test does about chromium before the tests", () => {
  it("nothing when chromium is on the PATH, root or not", () => {
    expect(plan({ found: true, root: true })).toEqual({ action: "none" });
    expect(plan({ found: true, root: false })).toEqual({ action: "none" });
  });

  it("as root, installs Debian's package, refreshing the package lists only when the first attempt fails", () => {
    expect(plan({ found: false, root: true })).toEqual({
      action: "install",
      attempts: [
        ["apt-get install -y --no-install-recommends chromium"],
        ["apt-get update", "apt-get install -y --no-install-recommends chromium"],
      ],
    });
  });

  it("otherwise refuses with the exact command to run", () => {
    const refused = plan({ found: false, root: false });
    expect(refused.action).toBe("refuse");
    expect((refused as { message: string }).message).toContain(
      "sudo apt-get install -y --no-install-recommends chromium",
    );
  });
});
