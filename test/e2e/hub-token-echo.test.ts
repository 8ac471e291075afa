import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { hasStackTrace, tune } from "../support/cli.js";
import { useFakeHub } from "../support/hub-fixture.js";
import type { InterceptedRequest, Reply } from "../support/hub-server.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

// Everything a Hub sends is untrusted, error bodies too (test/unit/hub-hostile.test.ts has the rest).
const TOKEN = "hf_hostile_reader_8d2f61c4a9";
const fixture = useFakeHub(TOKEN);
beforeEach(() => {
  process.env.TUNE_HUB_BACKOFF_MS = "1";
});

/** Every file under `dir`, through links too (the cache's builtin/ is a link to the run's shared models). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) =>
    statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)) : [join(dir, name)],
  );
}

describe("no server text carries the token anywhere", () => {
  /** A server whose every error quotes the request's headers back, as some proxies and mirrors do. */
  const echo =
    (route: RegExp, kind: "json" | "text") =>
    ({ method, path, headers }: InterceptedRequest): Reply | undefined => {
      if (!route.test(`${method} ${path}`)) return undefined;
      const said = `upstream failed for ${method} ${path}; request headers: ${JSON.stringify(headers)}; authorization was ${headers.authorization ?? "none"}`;
      return { status: 500, body: kind === "json" ? { error: said } : said };
    };

  const DATA = `text,label\n${Array.from({ length: 16 }, (_, i) => `"note ${i} ${i % 2 ? "awful" : "lovely"}",${i % 2 ? "bad" : "good"}`).join("\n")}\n`;

  it.each([
    ["a JSON error body", "json"],
    ["a plain-text error body", "text"],
  ] as const)(
    "tune push, a recipe's hub push and a download echoing headers in %s: no token in output, run directory, cache",
    async (_name, kind) => {
      const dir = tempDir({
        "d.csv": DATA,
        "exp.yaml":
          "task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 2, alpha: 4}\ndata: {train: d.csv, labels: [good, bad]}\ntraining: {max_steps: 2, batch_size: 8}\nhub: {repo: reader/echoed}\n",
        "dl.yaml":
          "task: sequence-classification\nengine: tfjs\nmodel: {base: acme/echoed}\ndata: {train: d.csv, labels: [good, bad]}\n",
      });
      fixture.hub.addRepo("acme/echoed", fixture.modelFiles);
      fixture.hub.intercept = echo(/\/commit\/|\/revision\//, kind);
      const env = {
        HF_ENDPOINT: fixture.hub.url,
        HF_TOKEN: TOKEN,
        HF_HUB_CACHE: join(dir, "hf"),
        TUNE_CACHE_DIR: testCache(dir),
        TUNE_HUB_RETRIES: "1",
        TUNE_HUB_BACKOFF_MS: "1",
      };
      const recipe = await tune(["recipe", "exp.yaml", "--out", "runs"], { cwd: dir, env });
      const push = await tune(["push", "runs/exp", "--repo", "reader/echoed2"], { cwd: dir, env });
      const pushJson = await tune(["push", "runs/exp", "--repo", "reader/echoed3", "--json"], { cwd: dir, env });
      const download = await tune(["prepare", "dl.yaml"], { cwd: dir, env });
      for (const result of [recipe, push, pushJson, download]) {
        expect(result.exitCode, result.stderr).toBe(4);
        expect(hasStackTrace(result.stderr)).toBe(false);
        expect(`${result.stdout}\n${result.stderr}`).not.toContain(TOKEN);
        expect(`${result.stdout}\n${result.stderr}`).toMatch(/upstream failed/);
      }
      expect(fixture.hub.requests.some((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
      const events = readFileSync(join(dir, "runs/exp/events.jsonl"), "utf8");
      expect(events).toMatch(/upstream failed/);
      for (const file of filesUnder(dir)) {
        if (statSync(file).size < 50_000_000) expect(readFileSync(file).includes(TOKEN), file).toBe(false);
      }
      for (const repo of ["reader/echoed", "reader/echoed2", "reader/echoed3"]) {
        for (const [, stored] of fixture.hub.repos.get(repo)?.commits.at(-1)?.files ?? [])
          expect(stored.bytes.includes(TOKEN)).toBe(false);
      }
    },
    120_000,
  );
});
