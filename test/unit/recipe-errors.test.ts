import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isTuneError, loadRecipe, type Problem } from "../../src/index.js";
import { tempDir } from "../support/temp-dir.js";

/** A valid recipe; each case below breaks it in one way. Lines 1-6. */
const BASE = `task: sequence-classification
model:
  base: builtin:tiny-llama
data:
  file: data.csv
  labels: [neg, pos]
`;

interface Expected {
  field: string;
  line: number;
  column: number;
  message: RegExp;
  hint?: RegExp;
}

interface Case {
  name: string;
  yaml: string;
  expect: Expected;
}

const CASES: Case[] = [
  {
    name: "a license the Hub would refuse in the model card",
    yaml: `${BASE}hub:\n  repo: tester/model\n  license: MIT\n`,
    expect: {
      field: "hub.license",
      line: 9,
      column: 12,
      message: /expected one of \d+ values \(the recipe reference lists them\), found "MIT"/,
      hint: /Did you mean "mit"\?/,
    },
  },
  {
    name: "misspelled top-level section",
    yaml: `${BASE}trainig:\n  lr: 0.001\n`,
    expect: { field: "trainig", line: 7, column: 1, message: /unknown field/, hint: /Did you mean `training`\?/ },
  },
  {
    name: "misspelled nested key",
    yaml: `${BASE}training:\n  batch_sise: 4\n`,
    expect: { field: "training.batch_sise", line: 8, column: 3, message: /unknown field/, hint: /`batch_size`/ },
  },
  {
    name: "key in the wrong section",
    yaml: `${BASE}lr: 0.001\n`,
    expect: { field: "lr", line: 7, column: 1, message: /unknown field/, hint: /belongs under `training`/ },
  },
  {
    name: "unknown key with no close match lists the known ones",
    yaml: `${BASE}lora:\n  flavour: vanilla\n`,
    expect: {
      field: "lora.flavour",
      line: 8,
      column: 3,
      message: /unknown field/,
      hint: /Known fields here: r, alpha, dropout/,
    },
  },
  {
    name: "text where a number is expected",
    yaml: `${BASE}training:\n  lr: fast\n`,
    expect: { field: "training.lr", line: 8, column: 7, message: /expected a number, found "fast" \(text\)/ },
  },
  {
    name: "negative learning rate",
    yaml: `${BASE}training:\n  lr: -0.1\n`,
    expect: { field: "training.lr", line: 8, column: 7, message: /expected a number > 0, found -0.1/ },
  },
  {
    name: "dropout out of range",
    yaml: `${BASE}lora:\n  dropout: 1.5\n`,
    expect: { field: "lora.dropout", line: 8, column: 12, message: /expected a number < 1, found 1.5/ },
  },
  {
    name: "fractional batch size",
    yaml: `${BASE}training:\n  batch_size: 2.5\n`,
    expect: { field: "training.batch_size", line: 8, column: 15, message: /expected a whole number, found 2.5/ },
  },
  {
    name: "misspelled enum value",
    yaml: BASE.replace("sequence-classification", "sequence-clasification"),
    expect: {
      field: "task",
      line: 1,
      column: 7,
      message: /expected one of "sequence-classification"/,
      hint: /Did you mean "sequence-classification"\?/,
    },
  },
  {
    name: "misspelled scheduler",
    yaml: `${BASE}training:\n  scheduler: cosin\n`,
    expect: {
      field: "training.scheduler",
      line: 8,
      column: 14,
      message: /expected one of "linear", "cosine", "constant"/,
      hint: /"cosine"/,
    },
  },
  {
    name: "missing task",
    yaml: BASE.replace("task: sequence-classification\n", "engine: auto\n"),
    expect: { field: "task", line: 1, column: 1, message: /required field is missing/, hint: /Add `task`/ },
  },
  {
    name: "missing model.base points at the model section",
    yaml: BASE.replace("  base: builtin:tiny-llama", "  revision: main"),
    expect: { field: "model.base", line: 2, column: 1, message: /required field is missing/, hint: /Hub id/ },
  },
  {
    name: "model given as text instead of a mapping",
    yaml: BASE.replace("model:\n  base: builtin:tiny-llama", "model: builtin:tiny-llama"),
    expect: {
      field: "model",
      line: 2,
      column: 8,
      message: /expected a mapping \(key: value\), found "builtin:tiny-llama"/,
    },
  },
  {
    name: "quantization bits not 4 or 8",
    yaml: `${BASE}engine: torch\nquantization:\n  bits: 3\n`,
    expect: { field: "quantization.bits", line: 9, column: 9, message: /expected one of 4, 8, found 3/ },
  },
  {
    name: "target_modules of the wrong type",
    yaml: `${BASE}lora:\n  target_modules: 3\n`,
    expect: { field: "lora.target_modules", line: 8, column: 19, message: /expected "all-linear" or a list, found 3/ },
  },
  {
    name: "target_modules list with a number",
    yaml: `${BASE}lora:\n  target_modules: [q_proj, 3]\n`,
    expect: { field: "lora.target_modules[1]", line: 8, column: 28, message: /expected a string, found 3/ },
  },
  {
    name: "a single label",
    yaml: BASE.replace("[neg, pos]", "[only]"),
    expect: { field: "data.labels", line: 6, column: 11, message: /expected at least 2 items, found a list of 1 item/ },
  },
  {
    name: "duplicate label",
    yaml: BASE.replace("[neg, pos]", "[neg, pos, neg]"),
    expect: { field: "data.labels[2]", line: 6, column: 22, message: /label "neg" is listed twice/ },
  },
  {
    name: "epochs and max_steps together",
    yaml: `${BASE}training:\n  epochs: 3\n  max_steps: 100\n`,
    expect: { field: "training.max_steps", line: 9, column: 14, message: /either `epochs` or `max_steps`/ },
  },
  {
    name: "warmup steps and ratio together",
    yaml: `${BASE}training:\n  warmup_steps: 10\n  warmup_ratio: 0.1\n`,
    expect: { field: "training.warmup_ratio", line: 9, column: 17, message: /either `warmup_steps` or `warmup_ratio`/ },
  },
  {
    name: "one file and split files together",
    yaml: BASE.replace("  file: data.csv\n", "  file: data.csv\n  train: data.csv\n"),
    expect: { field: "data.file", line: 5, column: 9, message: /`file` cannot be combined/ },
  },
  {
    name: "missing data file",
    yaml: BASE.replace("file: data.csv", "file: missing.csv"),
    expect: {
      field: "data.file",
      line: 5,
      column: 9,
      message: /file not found: .*missing\.csv/,
      hint: /relative to the recipe's folder/,
    },
  },
  {
    name: "missing local model folder",
    yaml: BASE.replace("builtin:tiny-llama", "./models/none"),
    expect: { field: "model.base", line: 3, column: 9, message: /model folder not found: .*models\/none/ },
  },
  {
    name: "misspelled built-in model",
    yaml: BASE.replace("builtin:tiny-llama", "builtin:tiny-lama"),
    expect: {
      field: "model.base",
      line: 3,
      column: 9,
      message: /no built-in model "tiny-lama"/,
      hint: /Did you mean "builtin:tiny-llama"\?/,
    },
  },
  {
    name: "model that is neither a folder nor a Hub id",
    yaml: BASE.replace("builtin:tiny-llama", '"my model with spaces"'),
    expect: { field: "model.base", line: 3, column: 9, message: /neither a local folder nor a Hub id/ },
  },
  {
    name: "malformed gate",
    yaml: `${BASE}eval:\n  gates: ["f1 >"]\n`,
    expect: { field: "eval.gates[0]", line: 8, column: 11, message: /a gate looks like `f1_weighted >= 0.9`/ },
  },
  {
    name: "gate on an unknown metric",
    yaml: `${BASE}eval:\n  gates: ["f1_weigted >= 0.9"]\n`,
    expect: {
      field: "eval.gates[0]",
      line: 8,
      column: 11,
      message: /unknown metric "f1_weigted"/,
      hint: /Did you mean "f1_weighted"\?/,
    },
  },
  {
    name: "fsdp over a quantized base",
    yaml: `${BASE}engine: torch\nquantization:\n  bits: 4\ndistributed:\n  processes: 2\n  strategy: fsdp\n`,
    expect: {
      field: "distributed.strategy",
      line: 12,
      column: 13,
      message: /fsdp cannot shard a quantized base: the built-in quantizer keeps its 4- and 8-bit weights as buffers/,
      hint: /use `strategy: ddp`/,
    },
  },
  {
    name: "deepspeed, which is not installed",
    yaml: `${BASE}engine: torch\ndistributed:\n  processes: 2\n  strategy: deepspeed\n`,
    expect: {
      field: "distributed.strategy",
      line: 10,
      column: 13,
      message: /deepspeed is not available in this version of tune/,
      hint: /Use `strategy: fsdp`/,
    },
  },
  {
    name: "quantization on the tfjs engine",
    yaml: `${BASE}engine: tfjs\nquantization:\n  bits: 4\n`,
    expect: {
      field: "quantization",
      line: 9,
      column: 3,
      message: /tfjs engine cannot load quantized models/,
      hint: /engine: torch/,
    },
  },
  {
    name: "generative classification without a prompt",
    yaml: BASE.replace("sequence-classification", "generative-classification"),
    expect: { field: "template.prompt", line: 1, column: 1, message: /needs a prompt/ },
  },
  {
    name: "label_map to a label that does not exist",
    yaml: `${BASE.replace("  labels: [neg, pos]\n", '  labels: [neg, pos]\n  label_map: {"0": negative, "1": pos}\n')}`,
    expect: {
      field: "data.label_map.0",
      line: 7,
      column: 20,
      message: /maps to "negative", which is not in data.labels/,
    },
  },
  {
    name: "split leaving no training rows",
    yaml: BASE.replace("  labels: [neg, pos]\n", "  labels: [neg, pos]\n  split: {eval: 0.6, test: 0.5}\n"),
    expect: { field: "data.split", line: 7, column: 10, message: /leaves no training rows/ },
  },
  {
    name: "checkpoint interval that is neither epoch nor a step count",
    yaml: `${BASE}checkpoints:\n  every: sometimes\n`,
    expect: {
      field: "checkpoints.every",
      line: 8,
      column: 10,
      message: /expected "epoch" or a whole number|expected "epoch" or a number/,
    },
  },
  {
    name: "training settings on a prompting recipe",
    yaml: `task: prompting\nmodel:\n  base: builtin:tiny-llama\ndata:\n  eval: data.csv\n  labels: [neg, pos]\ntemplate:\n  prompt: "Text: {text}"\ntraining:\n  epochs: 2\n`,
    expect: { field: "training", line: 10, column: 3, message: /prompting trains nothing/ },
  },
  {
    name: "YAML indentation error",
    yaml: `${BASE}training:\n  lr: 0.1\n   epochs: 2\n`,
    expect: { field: "", line: 8, column: 7, message: /^YAML: Nested mappings are not allowed/ },
  },
  {
    name: "duplicate key",
    yaml: `${BASE}training:\n  lr: 0.1\n  lr: 0.2\n`,
    expect: {
      field: "training.lr",
      line: 9,
      column: 3,
      message: /^training\.lr: this key appears twice in the same mapping \(first at line 8\)/,
    },
  },
  {
    name: "duplicate key inside a list item",
    yaml: `${BASE}eval:\n  gates: [accuracy > 0.5]\n  gates: [f1_macro > 0.5]\n`,
    expect: { field: "eval.gates", line: 9, column: 3, message: /^eval\.gates: this key appears twice/ },
  },
  {
    name: "a revision that would climb out of the model cache",
    yaml: BASE.replace("  base: builtin:tiny-llama\n", "  base: builtin:tiny-llama\n  revision: ../../../etc\n"),
    expect: { field: "model.revision", line: 4, column: 13, message: /a branch, tag or commit: letters, digits/ },
  },
  {
    name: "Hub repo without an owner",
    yaml: `${BASE}hub:\n  repo: justaname\n`,
    expect: { field: "hub.repo", line: 8, column: 9, message: /a Hub repo id looks like `user\/name`/ },
  },
  {
    name: "evaluating a split the data does not have",
    yaml: BASE.replace("file: data.csv", "train: data.csv") + "eval:\n  splits: [test]\n",
    expect: { field: "eval.splits[0]", line: 8, column: 12, message: /this recipe has no test split/ },
  },
  {
    name: "completion on a classifier head",
    yaml: `${BASE}template:\n  completion: "{label}"\n`,
    expect: { field: "template.completion", line: 8, column: 15, message: /has no completion/ },
  },
  {
    name: "few-shot placeholder missing from the prompt",
    yaml: `task: prompting\nmodel:\n  base: builtin:tiny-llama\ndata:\n  file: data.csv\n  labels: [neg, pos]\ntemplate:\n  prompt: "Text: {text}"\n  few_shot: {per_class: 2, placement: placeholder}\n`,
    expect: { field: "template.few_shot.placement", line: 9, column: 39, message: /no `\{examples\}` placeholder/ },
  },
  {
    name: "run name with spaces",
    yaml: `name: my run\n${BASE}`,
    expect: { field: "name", line: 1, column: 7, message: /a run name uses letters, digits/ },
  },
  {
    name: "split without data.file",
    yaml: BASE.replace("  file: data.csv\n", "  train: data.csv\n  split: {eval: 0.2}\n"),
    expect: { field: "data.split", line: 6, column: 10, message: /`split` only applies to `data.file`/ },
  },
  {
    name: "fallback label that is also a label",
    yaml: `${BASE}eval:\n  parse: {fallback: neg}\n`,
    expect: { field: "eval.parse.fallback", line: 8, column: 21, message: /"neg" is also a label/ },
  },
  {
    name: "metric that the task cannot produce",
    yaml: BASE.replace("sequence-classification", "causal-lm") + "eval:\n  metrics: [loss, f1_macro]\n",
    expect: { field: "eval.metrics[1]", line: 8, column: 19, message: /f1_macro is not available for task causal-lm/ },
  },
];

async function problemsOf(yaml: string): Promise<Problem[]> {
  const dir = tempDir({ "data.csv": "text,label\nhello,pos\n" });
  const file = join(dir, "recipe.yaml");
  writeFileSync(file, yaml);
  return problemsAt(file);
}

describe("recipes that are not what they seem", () => {
  it("a byte that is not UTF-8 is reported at its line and column, not replaced", async () => {
    const dir = tempDir({ "data.csv": "text,label\nhello,pos\n" });
    const file = join(dir, "recipe.yaml");
    // Line 6 reads `  labels: [neg, pós]` with the ó in Latin-1.
    writeFileSync(
      file,
      Buffer.concat([Buffer.from(BASE.replace("[neg, pos]\n", "[neg, p")), Buffer.from([0xf3]), Buffer.from("s]\n")]),
    );
    const [problem, ...rest] = await problemsAt(file);
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ code: "recipe-encoding", location: { line: 6, column: 18 } });
    expect(problem?.message).toMatch(/not valid UTF-8 here/);
  });

  it("an alias bomb is refused instead of expanded", async () => {
    const levels = [
      "a: &a [x, x, x, x, x, x, x, x, x]",
      ...["b", "c", "d", "e", "f", "g", "h"].map(
        (name, i) =>
          `${name}: &${name} [${Array(9)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(", ")}]`,
      ),
    ];
    const dir = tempDir({ "recipe.yaml": `${levels.join("\n")}\n${BASE}` });
    const [problem] = await problemsAt(join(dir, "recipe.yaml"));
    expect(problem).toMatchObject({ code: "yaml-aliases" });
    expect(problem?.hint).toMatch(/at most 100 aliases/);
  });

  it("50,000 unknown keys: every one is found, the first 50 are reported and the rest counted", async () => {
    const dir = tempDir({
      "data.csv": "text,label\nhello,pos\n",
      "recipe.yaml": `${BASE}${Array.from({ length: 50_000 }, (_, i) => `extra_${i}: ${i}`).join("\n")}\n`,
    });
    const problems = await problemsAt(join(dir, "recipe.yaml"));
    expect(problems).toHaveLength(51);
    expect(problems[0]).toMatchObject({ field: "extra_0", location: { line: 7, column: 1 } });
    expect(problems[49]).toMatchObject({ field: "extra_49", location: { line: 56 } });
    expect(problems[50]?.message).toBe("and 49950 more problems not shown");
  });
});

async function problemsAt(file: string): Promise<Problem[]> {
  try {
    await loadRecipe(file);
  } catch (error) {
    if (isTuneError(error)) return [...error.problems];
    throw error;
  }
  throw new Error("the recipe was accepted");
}

describe("malformed recipes", () => {
  it("the base recipe is valid", async () => {
    const dir = tempDir({ "data.csv": "text,label\nhello,pos\n", "recipe.yaml": BASE });
    const loaded = await loadRecipe(join(dir, "recipe.yaml"));
    expect(loaded.recipe.task).toBe("sequence-classification");
  });

  it("covers at least 30 distinct mistakes", () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBeGreaterThanOrEqual(30);
  });

  it.each(CASES)("$name", async ({ yaml, expect: expected }) => {
    const problems = await problemsOf(yaml);
    expect(problems).toHaveLength(1);
    const [problem] = problems as [Problem];
    expect(problem.field ?? "").toBe(expected.field);
    expect(problem.location?.file).toMatch(/recipe\.yaml$/);
    expect({ line: problem.location?.line, column: problem.location?.column }).toEqual({
      line: expected.line,
      column: expected.column,
    });
    expect(problem.message).toMatch(expected.message);
    if (expected.hint) expect(problem.hint).toMatch(expected.hint);
  });
});
