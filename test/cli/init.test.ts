import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { STARTER_TASKS } from "../../src/recipe/index.js";
import { tune } from "../support/cli.js";
import { tempDir } from "../support/temp-dir.js";

describe("tune init", () => {
  it.each(STARTER_TASKS)("writes a %s starter that validates as written", async (task) => {
    const dir = tempDir();
    const init = await tune(["init", "my-recipe.yaml", "--task", task], { cwd: dir });
    expect(init.exitCode).toBe(0);
    expect(init.stdout).toContain("wrote my-recipe.yaml");
    const text = readFileSync(join(dir, "my-recipe.yaml"), "utf8");
    expect(text).toMatch(/^# yaml-language-server: \$schema=.*schema\/recipe\.schema\.json$/m);
    const schemaRef = /\$schema=(.*)$/m.exec(text)?.[1] ?? "";
    expect(existsSync(join(dir, schemaRef))).toBe(true);
    expect(text).toContain(`task: ${task}`);
    const validate = await tune(["validate", "my-recipe.yaml"], { cwd: dir });
    expect(validate.stderr).toBe("");
    expect(validate.exitCode).toBe(0);
  });

  it("never overwrites a recipe unless asked to", async () => {
    const dir = tempDir({ "recipe.yaml": "mine\n" });
    const refused = await tune(["init"], { cwd: dir });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain("recipe.yaml already exists");
    expect(readFileSync(join(dir, "recipe.yaml"), "utf8")).toBe("mine\n");
    const forced = await tune(["init", "--force"], { cwd: dir });
    expect(forced.exitCode).toBe(0);
    expect(readFileSync(join(dir, "recipe.yaml"), "utf8")).toContain("task: sequence-classification");
  });

  it("keeps the user's data file when it already exists", async () => {
    const dir = tempDir({ "data/reviews.csv": "text,label\nmy own,positive\n" });
    const result = await tune(["init", "--json"], { cwd: dir });
    const report = JSON.parse(result.stdout) as { written: string[] };
    expect(report.written).toEqual([join(dir, "recipe.yaml")]);
    expect(readFileSync(join(dir, "data/reviews.csv"), "utf8")).toBe("text,label\nmy own,positive\n");
  });

  it("refuses an unknown task", async () => {
    const result = await tune(["init", "--task", "regression"], { cwd: tempDir() });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--task  --task: unknown task "regression"');
  });
});
