import { formatFieldPath, type Problem } from "../errors/index.js";
import type { Locator } from "./describe-issues.js";
import { didYouMean } from "./did-you-mean.js";
import { GATE_PATTERN, METRICS, type Recipe, type SplitName, type Task } from "./schema.js";

const CLASSIFYING: ReadonlySet<Task> = new Set(["sequence-classification", "generative-classification", "prompting"]);
const GENERATING: ReadonlySet<Task> = new Set(["generative-classification", "prompting"]);
const METRICS_BY_TASK: Record<Task, ReadonlySet<string>> = {
  "sequence-classification": new Set(METRICS),
  "generative-classification": new Set(METRICS),
  "causal-lm": new Set(["loss"]),
  prompting: new Set(METRICS.filter((m) => m !== "loss")),
};

/**
 * Rules that span several fields. `raw` is what the user wrote (to tell a default from a
 * choice); `recipe` is the parsed recipe with defaults.
 */
export function checkConsistency(recipe: Recipe, raw: unknown, locator: Locator): Problem[] {
  const problems: Problem[] = [];
  const report = (path: PropertyKey[], message: string, hint: string) => {
    const field = formatFieldPath(path);
    problems.push({
      code: "recipe-inconsistent",
      message: `${field}: ${message}`,
      field,
      location: locator.locateValue(path),
      hint,
    });
  };
  const wrote = (...path: string[]) => valueAt(raw, path) !== undefined;
  const { data, task, training, template } = recipe;

  // `file` and `hub` are each one source that `split` divides; train/eval/test are sources per split.
  const pooled = data.file !== undefined ? "file" : data.hub !== undefined ? "hub" : undefined;
  if (data.file !== undefined && data.hub !== undefined) {
    report(
      ["data", "hub"],
      "`hub` cannot be combined with `file`",
      "Give one source to split: a local `file` or a Hub dataset in `hub`.",
    );
  } else if (pooled && (data.train || data.eval || data.test)) {
    report(
      ["data", pooled],
      `\`${pooled}\` cannot be combined with train/eval/test data`,
      `Give either one \`${pooled}\` (split by \`split\`) or separate \`train\`/\`eval\`/\`test\` data.`,
    );
  } else if (task !== "prompting" && !pooled && !data.train) {
    report(
      ["data"],
      "no training data",
      "Set `data.train` (and optionally `data.eval`, `data.test`), or `data.file` (or `data.hub`) to split one source.",
    );
  } else if (!pooled && !data.train && !data.eval && !data.test) {
    report(
      ["data"],
      "no data to prompt with",
      "Set `data.eval` or `data.test` (and `data.train` to draw few-shot examples from), or `data.file`.",
    );
  }
  if (wrote("data", "split") && !pooled) {
    report(
      ["data", "split"],
      "`split` only applies to `data.file` and `data.hub`",
      "Remove `split`, or use `data.file` instead of separate files.",
    );
  }
  if (pooled && data.split.eval + data.split.test >= 1) {
    report(
      ["data", "split"],
      `eval (${data.split.eval}) + test (${data.split.test}) leaves no training rows`,
      "Make eval + test smaller than 1 (e.g. 0.1 each).",
    );
  }

  if (CLASSIFYING.has(task) && !data.labels) {
    report(
      ["data", "labels"],
      `task ${task} needs the label names`,
      "List them in id order, e.g. `labels: [negative, positive]`.",
    );
  }
  if (data.labels) {
    const seen = new Set<string>();
    data.labels.forEach((label, i) => {
      if (seen.has(label))
        report(["data", "labels", i], `label "${label}" is listed twice`, "Each label name must be unique.");
      seen.add(label);
    });
    for (const [code, label] of Object.entries(data.label_map ?? {})) {
      if (!seen.has(label)) {
        const close = didYouMean(label, data.labels);
        report(
          ["data", "label_map", code],
          `maps to "${label}", which is not in data.labels`,
          close ? `Did you mean "${close}"?` : `Use one of: ${data.labels.join(", ")}.`,
        );
      }
    }
    if (seen.has(recipe.eval.parse.fallback)) {
      report(
        ["eval", "parse", "fallback"],
        `"${recipe.eval.parse.fallback}" is also a label`,
        "The fallback marks unparseable answers; pick a name that is not a label.",
      );
    }
  }

  if (GENERATING.has(task) && !template?.prompt) {
    report(
      ["template", "prompt"],
      `task ${task} needs a prompt`,
      'Add `template.prompt`, e.g. "Text: {text}\\nLabel:".',
    );
  }
  if (task === "sequence-classification" && wrote("template", "completion")) {
    report(
      ["template", "completion"],
      "a classifier head predicts labels; it has no completion",
      "Remove `completion`, or use task generative-classification.",
    );
  }
  if (template?.few_shot && !GENERATING.has(task)) {
    report(
      ["template", "few_shot"],
      `few-shot examples are for prompting and generative-classification, not ${task}`,
      "Remove `few_shot`.",
    );
  }
  if (template?.few_shot && !data.file && !data.hub && !data.train) {
    report(
      ["template", "few_shot"],
      "few-shot examples are drawn from the train split, and this recipe has none",
      "Add `data.train`, or use `data.file` with a split.",
    );
  }
  if (template?.few_shot?.placement === "placeholder" && !template.prompt?.includes("{examples}")) {
    report(
      ["template", "few_shot", "placement"],
      "the prompt has no `{examples}` placeholder",
      "Add `{examples}` to the prompt, or use placement: before-prompt.",
    );
  }
  if (template?.options && !template.prompt?.includes("{options}")) {
    report(
      ["template", "options"],
      "the prompt has no `{options}` placeholder",
      "Add `{options}` where the answer options should be listed.",
    );
  }

  if (training.epochs !== undefined && training.max_steps !== undefined) {
    report(["training", "max_steps"], "set either `epochs` or `max_steps`, not both", "Remove one of them.");
  }
  if (training.warmup_steps !== undefined && training.warmup_ratio !== undefined) {
    report(
      ["training", "warmup_ratio"],
      "set either `warmup_steps` or `warmup_ratio`, not both",
      "Remove one of them.",
    );
  }

  if (task === "prompting") {
    for (const section of ["lora", "training", "checkpoints", "hub", "merge"]) {
      if (wrote(section))
        report(
          [section],
          "prompting trains nothing, so this section has no effect",
          `Remove \`${section}\`, or use task generative-classification to fine-tune.`,
        );
    }
  }
  if (recipe.distributed && recipe.engine === "tfjs") {
    report(
      ["distributed"],
      "the tfjs engine trains in one process",
      "Use `engine: torch` for several processes, or remove `distributed`.",
    );
  }
  if (recipe.distributed?.strategy === "deepspeed") {
    report(
      ["distributed", "strategy"],
      "deepspeed is not available in this version of tune (DeepSpeed is not part of its Python environment)",
      "Use `strategy: fsdp`, which shards the base model, the adapter and its optimizer state over the processes as ZeRO-3 does.",
    );
  }
  if (recipe.distributed?.strategy === "fsdp" && recipe.quantization) {
    report(
      ["distributed", "strategy"],
      "fsdp cannot shard a quantized base: the built-in quantizer keeps its 4- and 8-bit weights as buffers, which FSDP's fully_shard leaves whole on every process, so each would still hold the entire base",
      "Remove `quantization` to shard the base with fsdp, or keep it and use `strategy: ddp`.",
    );
  }
  if (recipe.distributed?.processes !== undefined && recipe.distributed.processes_per_node !== undefined) {
    report(
      ["distributed", "processes"],
      "`processes` and `processes_per_node` name the same thing, so only one may be given",
      "Keep `processes_per_node` (processes on each node) and remove `processes`.",
    );
  }
  if (recipe.lora.init === "pissa" || recipe.lora.init === "olora") {
    report(
      ["lora", "init"],
      `${recipe.lora.init} is not available in this version of tune: it moves part of the base model's weights into the adapter, and tune's merge and tfjs engine apply an adapter to the unchanged base`,
      "Use `init: default` or `init: gaussian`.",
    );
  }
  if (recipe.quantization && recipe.engine === "tfjs") {
    report(
      ["quantization"],
      "the tfjs engine cannot load quantized models",
      "Use `engine: torch` (PyTorch, with bitsandbytes where installed) or remove `quantization`.",
    );
  }

  const allowed = METRICS_BY_TASK[task];
  recipe.eval.metrics?.forEach((metric, i) => {
    if (!allowed.has(metric))
      report(["eval", "metrics", i], `${metric} is not available for task ${task}`, `Use: ${[...allowed].join(", ")}.`);
  });
  if (recipe.eval.best_metric && !allowed.has(recipe.eval.best_metric)) {
    report(
      ["eval", "best_metric"],
      `${recipe.eval.best_metric} is not available for task ${task}`,
      `Use: ${[...allowed].join(", ")}.`,
    );
  }
  const present = presentSplits(recipe);
  recipe.eval.splits?.forEach((split, i) => {
    if (!present.has(split))
      report(["eval", "splits", i], `this recipe has no ${split} split`, `Its splits are: ${[...present].join(", ")}.`);
  });
  recipe.eval.gates.forEach((gate, i) => {
    const match = GATE_PATTERN.exec(gate);
    const metric = match?.[2];
    if (metric && !allowed.has(metric)) {
      const close = didYouMean(metric, [...allowed]);
      report(
        ["eval", "gates", i],
        `unknown metric "${metric}" for task ${task}`,
        close ? `Did you mean "${close}"?` : `Use: ${[...allowed].join(", ")}.`,
      );
    }
    const split = match?.[1] as SplitName | undefined;
    if (split && !present.has(split))
      report(["eval", "gates", i], `this recipe has no ${split} split`, `Its splits are: ${[...present].join(", ")}.`);
  });

  return problems;
}

/** Splits a recipe's data will have once read and split. */
export function presentSplits(recipe: Recipe): Set<SplitName> {
  const { data } = recipe;
  const splits = new Set<SplitName>();
  if (data.train) splits.add("train");
  if (data.file || data.hub) {
    splits.add("train");
    splits.add("eval");
    if (data.split.test > 0) splits.add("test");
  }
  if (data.eval) splits.add("eval");
  if (data.test) splits.add("test");
  return splits;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
