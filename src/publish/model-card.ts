import { basename } from "node:path";
import { stringify } from "yaml";
import type { CheckpointMetrics, GateResult } from "../eval/index.js";
import { hubDataSources, hubIdProblem, worldSize, type DataSource, type RunPlan } from "../recipe/index.js";
import { TUNE_VERSION } from "../version.js";

export interface AdapterSummary {
  r?: number;
  lora_alpha?: number;
  lora_dropout?: number;
  target_modules?: string[] | string | null;
  use_rslora?: boolean;
  use_dora?: boolean;
  task_type?: string | null;
  peft_version?: string;
  base_model_name_or_path?: string | null;
}

export interface CardInput {
  /** Where the card will live (owner/name), for the usage snippet; a folder name otherwise. */
  repo: string;
  kind: "adapter" | "merged";
  adapter: AdapterSummary;
  plan: RunPlan | null;
  step: number | null;
  metrics: CheckpointMetrics | null;
  gates: readonly GateResult[];
  /** The checkpoint manifest's provenance (engine and versions). */
  provenance: Record<string, unknown> | null;
  license?: string;
}

/** tune's metric names as the Hub's model-index metric types (https://hf.co/metrics) with readable names. */
const METRIC_TYPES: Record<string, { type: string; name: string }> = {
  accuracy: { type: "accuracy", name: "Accuracy" },
  f1_macro: { type: "f1", name: "Macro F1" },
  f1_weighted: { type: "f1", name: "Weighted F1" },
  f1_micro: { type: "f1", name: "Micro F1" },
  precision_macro: { type: "precision", name: "Macro precision" },
  precision_weighted: { type: "precision", name: "Weighted precision" },
  recall_macro: { type: "recall", name: "Macro recall" },
  recall_weighted: { type: "recall", name: "Weighted recall" },
  loss: { type: "loss", name: "Loss" },
  error_rate: { type: "error_rate", name: "Error rate" },
  total_variation: { type: "total_variation", name: "Total variation distance" },
  js_distance: { type: "jensen_shannon", name: "Jensen-Shannon distance" },
};

/** The base model's Hub id when it is one (a local folder or a built-in model has none). */
function hubBase(input: CardInput): string | undefined {
  const source = input.plan?.model.source;
  if (source) return source.kind === "hub" ? source.id : undefined;
  const named = input.adapter.base_model_name_or_path ?? undefined;
  return named && hubIdProblem(named) === undefined && named.includes("/") ? named : undefined;
}

/** The Hub datasets the run read, as the card's `datasets:` lists them (dataset repo ids). */
function hubDatasets(plan: RunPlan | null): string[] {
  return plan ? [...new Set(hubDataSources(plan).map(({ hub }) => hub.repo))] : [];
}

/** What the training data is called: its Hub dataset id, or its file's name. */
function dataLabel(plan: RunPlan, fallback: string): string {
  const source: DataSource | null = plan.data.hub ? { hub: plan.data.hub } : (plan.data.file ?? plan.data.train);
  if (source === null) return fallback;
  return typeof source === "string" ? basename(source) : source.hub.repo;
}

/** Each Hub dataset read, with what was read of it and the commit its revision resolved to (from the checkpoint's provenance). */
function datasetLines(input: CardInput): string[] {
  const recorded = Array.isArray(input.provenance?.datasets)
    ? (input.provenance.datasets as Array<{ role?: unknown; repo?: unknown; commit?: unknown; files?: unknown }>)
    : [];
  if (!input.plan) return [];
  return hubDataSources(input.plan).map(({ role, hub }) => {
    const commit = recorded.find((r) => r.role === role && r.repo === hub.repo)?.commit;
    const what =
      hub.split !== undefined
        ? `split \`${hub.split}\``
        : `files ${(hub.files ?? []).map((f) => `\`${f}\``).join(", ")}`;
    const used = role === "pool" ? "split into train/eval/test" : `as the ${role} split`;
    return `- \`${hub.repo}\`, ${what}, revision \`${hub.revision}\`${typeof commit === "string" ? ` (commit \`${commit}\`)` : ""}, ${used}`;
  });
}

function baseLabel(input: CardInput): string {
  return hubBase(input) ?? input.plan?.model.base ?? input.adapter.base_model_name_or_path ?? "the base model";
}

function classifier(input: CardInput): boolean {
  return input.plan ? input.plan.task === "sequence-classification" : input.adapter.task_type === "SEQ_CLS";
}

/** Each evaluated split's metrics, limited to those the recipe reports (and loss). */
function reportedSplits(input: CardInput): Array<[string, Record<string, number>]> {
  const wanted = input.plan ? new Set<string>([...input.plan.eval.metrics, "loss"]) : undefined;
  return Object.entries(input.metrics?.splits ?? {}).map(([split, values]) => [
    split,
    Object.fromEntries(Object.entries(values ?? {}).filter(([metric]) => !wanted || wanted.has(metric))) as Record<
      string,
      number
    >,
  ]);
}

function frontMatter(input: CardInput): Record<string, unknown> {
  const base = hubBase(input);
  const pipeline = classifier(input) ? "text-classification" : "text-generation";
  const splits = reportedSplits(input);
  const metricNames = [...new Set(splits.flatMap(([, values]) => Object.keys(values ?? {})))].filter(
    (m) => m in METRIC_TYPES,
  );
  const dataName = input.plan ? dataLabel(input.plan, input.plan.name) : "data";
  const datasets = hubDatasets(input.plan);
  // The Hub draws the model tree from base_model and base_model_relation (adapter, merge,
  // quantized or finetune) and makes the base_model:… tags itself; a LoRA merged into its base
  // is a finetune of it, "merge" being for merges of several models.
  const card: Record<string, unknown> = {
    ...(base ? { base_model: base, base_model_relation: input.kind === "adapter" ? "adapter" : "finetune" } : {}),
    library_name: input.kind === "adapter" ? "peft" : "transformers",
    pipeline_tag: pipeline,
    ...(input.license ? { license: input.license } : {}),
    tags: [
      "tune",
      input.kind === "adapter" ? "lora" : "merged-lora",
      ...(input.adapter.use_dora ? ["dora"] : []),
      ...(input.plan?.quantization ? ["qlora"] : []),
    ],
    ...(datasets.length > 0 ? { datasets } : {}),
    ...(metricNames.length > 0 ? { metrics: [...new Set(metricNames.map((m) => METRIC_TYPES[m]?.type))] } : {}),
  };
  if (splits.length > 0) {
    card["model-index"] = [
      {
        name: input.repo.split("/").at(-1),
        results: splits.map(([split, values]) => ({
          task: { type: pipeline },
          dataset: { type: dataName, name: dataName, split },
          metrics: Object.entries(values ?? {})
            .filter(([metric]) => metric in METRIC_TYPES)
            .map(([metric, value]) => ({
              type: METRIC_TYPES[metric]?.type,
              value: Number((value as number).toFixed(4)),
              name: `${split} ${METRIC_TYPES[metric]?.name}`,
            })),
        })),
      },
    ];
  }
  return card;
}

function usage(input: CardInput): string {
  const hub = hubBase(input);
  const base = hub ?? "path/to/base-model";
  const where = hub
    ? ""
    : `# The base model is not on the Hub: it was ${baseLabel(input)}. Point the path below at a copy of it.\n`;
  const labels = input.plan?.data.labels;
  if (input.kind === "merged") {
    return classifier(input)
      ? `from transformers import pipeline\n\nclassify = pipeline("text-classification", model="${input.repo}")\nprint(classify("Your text here", top_k=None))`
      : `from transformers import AutoModelForCausalLM, AutoTokenizer\n\ntokenizer = AutoTokenizer.from_pretrained("${input.repo}")\nmodel = AutoModelForCausalLM.from_pretrained("${input.repo}", dtype="auto")\ninputs = tokenizer("Your prompt here", return_tensors="pt")\nprint(tokenizer.decode(model.generate(**inputs, max_new_tokens=64)[0], skip_special_tokens=True))`;
  }
  if (classifier(input)) {
    const names = labels ? `\nlabels = ${JSON.stringify(labels)}` : "";
    const mapping = labels
      ? `,\n    id2label=dict(enumerate(labels)),\n    label2id={label: i for i, label in enumerate(labels)},`
      : ",";
    return `${where}import torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer
${names}
tokenizer = AutoTokenizer.from_pretrained("${base}")
base = AutoModelForSequenceClassification.from_pretrained(
    "${base}",
    num_labels=${labels?.length ?? "NUM_LABELS"}${mapping}
    pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
)
model = PeftModel.from_pretrained(base, "${input.repo}").eval()
inputs = tokenizer(["Your text here"], return_tensors="pt", padding=True, truncation=True)
with torch.no_grad():
    probabilities = model(**inputs).logits.softmax(-1)
print({model.config.id2label[i]: float(p) for i, p in enumerate(probabilities[0])})`;
  }
  return `${where}from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("${base}")
base = AutoModelForCausalLM.from_pretrained("${base}", dtype="auto")
model = PeftModel.from_pretrained(base, "${input.repo}").eval()
inputs = tokenizer("Your prompt here", return_tensors="pt")
print(tokenizer.decode(model.generate(**inputs, max_new_tokens=${input.plan?.generation.max_new_tokens ?? 64})[0], skip_special_tokens=True))`;
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

function body(input: CardInput): string {
  const { plan, adapter } = input;
  const base = baseLabel(input);
  const out: string[] = [];
  out.push(`# ${input.repo.split("/").at(-1)}`, "");
  out.push(
    input.kind === "adapter"
      ? `A LoRA adapter for \`${base}\`, trained with tune ${TUNE_VERSION}.`
      : `\`${base}\` with a LoRA adapter merged into its weights by tune ${TUNE_VERSION}; it loads without PEFT.`,
  );
  const start = plan?.model.adapter_source;
  if (start)
    out.push(
      "",
      start.source === "hub"
        ? `Training continued from the adapter \`${start.id}\` on the Hub, at commit \`${start.commit}\`, not from a fresh LoRA.`
        : `Training continued from a local adapter (\`${basename(start.dir)}\`, sha256 \`${start.sha256.slice(0, 12)}\` of its files), not from a fresh LoRA.`,
    );
  if (plan?.description) out.push("", plan.description);
  out.push("", "## Intended use", "");
  out.push(
    classifier(input)
      ? `Text classification${plan?.data.labels ? ` into ${plan.data.labels.length} classes` : ""}, on texts like those it was trained on${plan ? ` (${dataLabel(plan, "the training data")})` : ""}. Check the per-class scores below before relying on it for a class, and re-evaluate it on your own data.`
      : `Text generation in the style and format of its training data${plan ? ` (${dataLabel(plan, "the training data")})` : ""}. It inherits the base model's limitations and licence.`,
  );
  const datasets = datasetLines(input);
  if (datasets.length > 0) out.push("", "## Training data", "", ...datasets);
  if (plan?.data.labels)
    out.push(
      "",
      "## Labels",
      "",
      table(
        ["id", "label"],
        plan.data.labels.map((label, i) => [String(i), label]),
      ),
    );
  out.push("", "## Usage", "", "```python", usage(input), "```");

  out.push("", "## LoRA configuration", "");
  const targets = Array.isArray(adapter.target_modules)
    ? adapter.target_modules.join(", ")
    : String(adapter.target_modules ?? "");
  out.push(
    table(
      ["setting", "value"],
      [
        ["r", String(adapter.r)],
        ["alpha", String(adapter.lora_alpha)],
        ["dropout", String(adapter.lora_dropout ?? 0)],
        ["target modules", targets],
        ["rsLoRA", String(adapter.use_rslora ?? false)],
        ["DoRA", String(adapter.use_dora ?? false)],
        ...(plan
          ? [
              [
                "modules trained in full",
                plan.task === "sequence-classification"
                  ? "classification head"
                  : plan.lora.modules_to_save.join(", ") || "none",
              ],
            ]
          : []),
      ],
    ),
  );
  if (plan?.quantization) {
    const q = plan.quantization;
    out.push(
      "",
      "## Quantization",
      "",
      `The base model was loaded in ${q.bits}-bit${q.bits === 4 ? ` ${q.type.toUpperCase()}${q.double_quant ? " with double quantization" : ""}` : ""}, compute dtype ${q.compute_dtype} (QLoRA).${input.kind === "merged" ? " The adapter was merged into the full-precision weights, so outputs differ slightly from the quantized model it was evaluated with." : ""}`,
    );
  }
  if (plan) {
    const t = plan.training;
    out.push("", "## Training", "");
    out.push(
      table(
        ["hyperparameter", "value"],
        [
          ["epochs", String(t.epochs ?? "-")],
          ["max steps", String(t.max_steps ?? plan.schedule?.total_steps ?? "-")],
          [
            "batch size (per device × accumulation × processes)",
            `${t.batch_size} × ${t.gradient_accumulation} × ${worldSize(plan.distributed)} = ${t.effective_batch_size}`,
          ],
          ["learning rate", String(t.lr)],
          [
            "scheduler",
            `${t.scheduler}${t.warmup_ratio ? `, warmup ratio ${t.warmup_ratio}` : t.warmup_steps ? `, ${t.warmup_steps} warmup steps` : ""}`,
          ],
          ["optimizer", `${t.optimizer}, weight decay ${t.weight_decay}`],
          ["max grad norm", String(t.max_grad_norm)],
          ["precision", String(t.precision)],
          ["max length", String(plan.data.max_length)],
          ["seed", String(t.seed)],
          ...(input.step !== null ? [["checkpoint", `step ${input.step}`]] : []),
        ],
      ),
    );
  }
  const splits = reportedSplits(input);
  if (splits.length > 0) {
    const metrics = [...new Set(splits.flatMap(([, values]) => Object.keys(values ?? {})))];
    out.push(
      "",
      "## Evaluation",
      "",
      table(
        ["split", ...metrics],
        splits.map(([split, values]) => [
          split,
          ...metrics.map((m) => (values[m] === undefined ? "-" : (values[m] as number).toFixed(4))),
        ]),
      ),
    );
  }
  if (input.gates.length > 0)
    out.push(
      "",
      `Gates: ${input.gates.map((g) => `${g.text} ${g.passed ? "passed" : "FAILED"} (${g.value === null ? "not evaluated" : g.value.toFixed(4)})`).join("; ")}.`,
    );
  const engine = (input.provenance?.engine ?? {}) as Record<string, unknown>;
  const versions = [
    ["tune", TUNE_VERSION],
    ...Object.entries(engine).filter(([key]) => key !== "processes" && key !== "backend"),
    ...(adapter.peft_version ? [["peft", adapter.peft_version]] : []),
  ].map(([k, v]) => `- ${String(k) === "name" ? "engine" : String(k)}: ${String(v)}`);
  out.push("", "## Framework versions", "", ...versions);
  return out.join("\n");
}

/** A README.md model card the Hub understands: YAML front matter (base_model, tags, model-index with the metrics) and a body with use, labels, usage code, LoRA and training settings, metrics and versions. */
export function modelCard(input: CardInput): string {
  return `---\n${stringify(frontMatter(input), { lineWidth: 0 })}---\n\n${body(input)}\n`;
}
