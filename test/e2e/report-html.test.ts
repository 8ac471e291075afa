import { readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { ROOT, signalWhen, tune } from "../support/cli.js";
import { fixtureCopy } from "../support/fixtures.js";
import { testCache } from "../support/test-cache.js";
import { tempDir } from "../support/temp-dir.js";

const DATA = `text,label\n${Array.from({ length: 40 }, (_, i) => `"review ${i}: ${["great value", "broke quickly", "works well", "waste of money"][i % 4]}",${i % 2 ? "negative" : "positive"}`).join("\n")}\n`;
const RECIPE =
  'name: report-demo\ntask: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8}\ndata: {file: d.csv, labels: [positive, negative], split: {eval: 0.2, test: 0.2, seed: 1}}\ntraining: {max_steps: 12, batch_size: 8, lr: 0.01, logging_steps: 1}\ncheckpoints: {every: 3, keep: 1}\neval: {gates: ["accuracy >= 0"]}\n';

/** Debian's chromium, which `npm test` installs first (scripts/prepare-tests.mjs); headless, as root in CI. */
async function chromium(args: string[]): Promise<string> {
  const result = await execa(
    "chromium",
    ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", ...args],
    { reject: false, timeout: 60_000 },
  );
  if (result.exitCode !== 0)
    throw new Error(
      `chromium failed (install Debian's chromium package; npm test names the command): ${result.stderr.slice(-500)}`,
    );
  return result.stdout;
}

/** Pixels within a small distance of an RGB colour. */
function countColour(png: PNG, hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
  let count = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (
      Math.abs((png.data[i] as number) - r) +
        Math.abs((png.data[i + 1] as number) - g) +
        Math.abs((png.data[i + 2] as number) - b) <
      30
    )
      count++;
  }
  return count;
}

describe("tune report", () => {
  it("writes a self-contained HTML report that renders in headless Chromium with its curves, tables and charts", async () => {
    // The reviews fixture: runs/report-demo, 12 steps logged one by one, checkpoints every 3, a gate.
    const dir = fixtureCopy("reviews");
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    const result = await tune(["report", "runs/report-demo"], { cwd: dir, env });
    expect(result.exitCode, result.stderr).toBe(0);
    const file = join(dir, "runs/report-demo/report.html");
    expect(result.stdout).toContain(`report: ${file}`);
    expect(result.stdout).toMatch(
      /^best checkpoint: .*checkpoint-\d+ \(step \d+\) by f1_weighted on eval = \d\.\d{4}$/m,
    );
    const html = readFileSync(file, "utf8");
    // Self-contained: nothing is fetched when it is opened.
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);

    const dom = await chromium(["--dump-dom", `file://${file}`]);
    expect(dom).toContain("<h1>report-demo</h1>");
    expect(dom).toContain("accuracy &gt;= 0: passed");
    expect(dom).toMatch(/<td>\d+ \(best\)<\/td>/);
    expect((dom.match(/<table class="confusion">/g) ?? []).length).toBe(2);

    const screenshot = join(dir, "report.png");
    await chromium(["--window-size=1280,1400", `--screenshot=${screenshot}`, `file://${file}`]);
    const png = PNG.sync.read(readFileSync(screenshot));
    expect([png.width, png.height]).toEqual([1280, 1400]);
    // The curves and bars are drawn: train loss and true shares (blue), lr (green), eval loss (red), predicted shares (orange).
    expect(countColour(png, "#1f77b4")).toBeGreaterThan(500);
    expect(countColour(png, "#2ca02c")).toBeGreaterThan(100);
    expect(countColour(png, "#d62728")).toBeGreaterThan(50);
    expect(countColour(png, "#ff7f0e")).toBeGreaterThan(500);
    // And it is mostly a white page with dark text, not an error page or a blank one.
    expect(countColour(png, "#ffffff")).toBeGreaterThan(png.width * png.height * 0.5);
    expect(countColour(png, "#222222")).toBeGreaterThan(2000);
  }, 120_000);

  it("says what became of the run: finished in the report the run writes and after its merge, stopped after Ctrl-C", async () => {
    const dir = tempDir({
      "exp.yaml": `${RECIPE}merge: {}\n`,
      "long.yaml": RECIPE.replace("name: report-demo", "name: long").replace("max_steps: 12", "max_steps: 400"),
      "d.csv": DATA,
    });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    const run = join(dir, "runs/report-demo");
    expect((await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir, env })).exitCode).toBe(0);
    // Written by the run itself, while it still held its lock.
    expect(readFileSync(join(run, "report.html"), "utf8")).toContain("finished at step 12");
    // The merge follows `best` in the event log.
    const events = readFileSync(join(run, "events.jsonl"), "utf8").trim().split("\n");
    expect((JSON.parse(events.at(-1) as string) as { type: string }).type).toBe("merged");
    const report = await tune(["report", run, "--json"], { cwd: dir, env });
    expect(JSON.parse(report.stdout)).toMatchObject({ state: { kind: "finished", step: 12 } });

    const child = execa("node", [join(ROOT, "bin/tune.js"), "recipe", "long.yaml", "--out", "runs"], {
      cwd: dir,
      env,
      reject: false,
    });
    signalWhen(child, /^step 4 /m, "SIGINT");
    expect((await child).exitCode).toBe(130);
    const stopped = await tune(["report", "runs/long"], { cwd: dir, env });
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(readFileSync(join(dir, "runs/long/report.html"), "utf8")).toMatch(
      /stopped at step \d+ \(re-run to resume\)/,
    );
  }, 120_000);
});
