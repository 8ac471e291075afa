import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MODEL_LIBRARIES_UI_ELEMENTS, PIPELINE_DATA } from "@huggingface/tasks";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { modelCard, type CardInput } from "../../src/publish/model-card.js";
import { HUB_LICENSES } from "../../src/recipe/hub-licenses.js";
import { ROOT } from "../support/cli.js";
import { planFor } from "../support/plan.js";
import { referencePython } from "../support/reference-python.js";

const RECIPE = (base: string) =>
  `name: stance\ntask: sequence-classification\nmodel: {base: ${base}}\nlora: {r: 4, alpha: 8}\ndata: {file: d.csv, labels: [against, favor, none], split: {eval: 0.2, test: 0.2}}\nhub: {repo: tester/stance, license: cc-by-4.0}\n`;

const METRICS = {
  dir: "checkpoint-8",
  step: 8,
  splits: {
    eval: { accuracy: 0.75, f1_macro: 0.7012, loss: 0.61 },
    test: { accuracy: 0.7, f1_macro: 0.68, error_rate: 0 },
  },
};

/** The cards tune writes: a run's adapter and merged model on a Hub base, one on a local base, and a foreign PEFT adapter. */
async function cards(): Promise<Array<[string, string]>> {
  const onHub = (await planFor(RECIPE("acme/tiny-llama"), { "d.csv": "text,label\n" })).plan;
  const local = (await planFor(RECIPE("builtin:tiny-llama"), { "d.csv": "text,label\n" })).plan;
  const input = (over: Partial<CardInput>): CardInput => ({
    repo: "tester/stance",
    kind: "adapter",
    adapter: { r: 4, lora_alpha: 8, task_type: "SEQ_CLS", peft_version: "0.21.0" },
    plan: onHub,
    step: 8,
    metrics: METRICS,
    gates: [],
    provenance: null,
    license: "cc-by-4.0",
    ...over,
  });
  return [
    ["adapter", modelCard(input({}))],
    ["merged", modelCard(input({ kind: "merged" }))],
    ["built-in base", modelCard(input({ plan: local, license: undefined }))],
    [
      "foreign adapter",
      modelCard(
        input({
          plan: null,
          step: null,
          metrics: null,
          adapter: { r: 8, lora_alpha: 16, task_type: "CAUSAL_LM", base_model_name_or_path: "owner/base-7b" },
          license: "other",
        }),
      ),
    ],
  ];
}

/** huggingface_hub's own reading of each card: ModelCard parses the front matter and its model-index into EvalResults. */
async function hubReading(texts: string[]): Promise<Array<Record<string, unknown>>> {
  const script = `
import json, sys
from huggingface_hub import ModelCard
from huggingface_hub.utils import validate_repo_id
out = []
for text in json.loads(sys.argv[1]):
    card = ModelCard(text, ignore_metadata_errors=False)
    data = card.data
    base = data.to_dict().get("base_model")
    for repo in ([base] if isinstance(base, str) else base or []) + list(data.datasets or []):
        validate_repo_id(repo)
    out.append({
        "base_model": base,
        "relation": data.to_dict().get("base_model_relation"),
        "eval_results": [[r.task_type, r.dataset_split, r.metric_type, r.metric_value] for r in data.eval_results or []],
    })
print(json.dumps(out))
`;
  const result = await execa(referencePython, ["-W", "ignore", "-c", script, JSON.stringify(texts)]);
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
}

describe("model cards the Hub reads", () => {
  it("have front matter that huggingface_hub parses, with the Hub's pipeline tags, libraries, base-model relations and licenses", async () => {
    const written = await cards();
    const read = await hubReading(written.map(([, text]) => text));
    const fronts = written.map(([, text]) => parse(text.split("---")[1] as string) as Record<string, unknown>);
    written.forEach(([name], i) => {
      const front = fronts[i] as Record<string, unknown>;
      expect(Object.keys(PIPELINE_DATA), name).toContain(front.pipeline_tag);
      expect(Object.keys(MODEL_LIBRARIES_UI_ELEMENTS), name).toContain(front.library_name);
      if (front.license !== undefined) expect(HUB_LICENSES, name).toContain(front.license);
      if (front.base_model !== undefined)
        expect(["adapter", "merge", "quantized", "finetune"]).toContain(read[i]?.relation);
      // The Hub makes the base_model:… tags from base_model itself.
      expect(
        (front.tags as string[]).some((tag) => tag.startsWith("base_model:")),
        name,
      ).toBe(false);
    });
    expect(read.map((card) => [card.base_model, card.relation])).toEqual([
      ["acme/tiny-llama", "adapter"],
      ["acme/tiny-llama", "finetune"],
      [null, null],
      ["owner/base-7b", "adapter"],
    ]);
    // Every reported metric comes back from the model-index as the number in metrics.json (four decimals).
    expect(read[0]?.eval_results).toEqual([
      ["text-classification", "eval", "accuracy", 0.75],
      ["text-classification", "eval", "f1", 0.7012],
      ["text-classification", "eval", "loss", 0.61],
      ["text-classification", "test", "accuracy", 0.7],
      ["text-classification", "test", "f1", 0.68],
    ]);
  }, 60_000);

  it("take licenses from @huggingface/hub's list of the identifiers the Hub accepts", () => {
    const types = readFileSync(join(ROOT, "node_modules/@huggingface/hub/src/types/public.ts"), "utf8");
    const union = /export type License =([^;]+);/.exec(types)?.[1] ?? "";
    expect([...HUB_LICENSES]).toEqual([...union.matchAll(/"([^"]+)"/g)].map((m) => m[1]));
  });
});
