import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, tune } from "../support/cli.js";

/** The Markdown files a reader follows from the README. */
function documents(): string[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`);
  return ["README.md", "DEVELOPERS.md", "python-bridge/README.md", ...docs];
}

/** Text outside fenced code blocks and inline code, where links and headings are Markdown. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "``");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[`*_]/g, "")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors a Markdown file's headings get, with GitHub's -1, -2 suffixes for repeats. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const match of markdown.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, "").matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = slug(match[1] as string);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

/** Relative link targets in a Markdown file: `[text](target)`, skipping URLs and mail. */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((match) => match[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** The verbs in the README's verb table: the first word after `tune` in each row's first cell. */
function readmeVerbs(readme: string): string[] {
  const section = /^## The verbs\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? "";
  return [...section.matchAll(/^\| `tune ([a-z][a-z-]*)/gm)].map((match) => match[1] as string);
}

describe("the README and docs/", () => {
  let helpVerbs: string[] = [];

  beforeAll(async () => {
    const help = await tune(["--help"]);
    expect(help.exitCode, help.stderr).toBe(0);
    const commands = help.stdout.split("\nCommands:\n")[1]?.split("\n\n")[0] ?? "";
    helpVerbs = [...commands.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)]
      .map((match) => match[1] as string)
      .filter((verb) => verb !== "help");
  });

  it("the README's verb table has one row for every verb `tune --help` lists, and no other", () => {
    expect(helpVerbs.length).toBeGreaterThan(10);
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const table = readmeVerbs(readme);
    expect(
      helpVerbs.filter((verb) => !table.includes(verb)),
      "verbs missing from the README's table",
    ).toEqual([]);
    expect(
      table.filter((verb) => !helpVerbs.includes(verb)),
      "rows for verbs tune does not have",
    ).toEqual([]);
    expect(new Set(table).size, "a verb listed twice").toBe(table.length);
  });

  it("docs/cli.md describes every verb", () => {
    const cli = readFileSync(join(ROOT, "docs/cli.md"), "utf8");
    expect(helpVerbs.filter((verb) => !cli.includes(`**\`tune ${verb}`))).toEqual([]);
  });

  it("every relative link points at a file that exists, and every #anchor at a heading in it", () => {
    const broken: string[] = [];
    for (const document of documents()) {
      const file = join(ROOT, document);
      const text = readFileSync(file, "utf8");
      for (const target of relativeLinks(text)) {
        const [path = "", anchor] = target.split("#", 2);
        const linked = path === "" ? file : resolve(dirname(file), decodeURI(path));
        const name = relative(ROOT, linked);
        if (!existsSync(linked)) {
          broken.push(`${document}: ${target} (no such file)`);
          continue;
        }
        if (anchor === undefined || statSync(linked).isDirectory() || !linked.endsWith(".md")) continue;
        if (!anchors(readFileSync(linked, "utf8")).has(anchor))
          broken.push(`${document}: ${target} (no heading #${anchor} in ${name})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("the link check itself finds a missing file and a missing heading", () => {
    expect(relativeLinks("[a](docs/x.md#y) [b](https://e.org) `[c](z.md)`")).toEqual(["docs/x.md#y"]);
    expect(anchors("# Before any GPU time\n## `model.base`\n## Merging\n## Merging\n")).toEqual(
      new Set(["before-any-gpu-time", "modelbase", "merging", "merging-1"]),
    );
  });
});
