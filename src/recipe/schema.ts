import { z } from "zod";
import { HUB_LICENSES } from "./hub-licenses.js";
import { hubIdProblem, repoPathProblem, revisionProblem } from "./model-ref.js";

/**
 * The recipe schema, grouped the way a user thinks about a fine-tune. Every field has a
 * description (it becomes the JSON Schema for editors and the reference in docs/) and, where
 * one makes sense, a default, so a five-line recipe is complete.
 *
 * Rules that span several fields (epochs vs max_steps, labels needed by a task, ...) live in
 * `check-consistency.ts`, next to nothing else, so each is easy to find by field name.
 */

export const TASKS = ["sequence-classification", "causal-lm", "generative-classification", "prompting"] as const;

export const METRICS = [
  "accuracy",
  "f1_macro",
  "f1_weighted",
  "f1_micro",
  "precision_macro",
  "precision_weighted",
  "recall_macro",
  "recall_weighted",
  "loss",
  "error_rate",
  "total_variation",
  "js_distance",
] as const;

/** Metrics where smaller is better; best-checkpoint selection and gates read this. */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set(["loss", "error_rate", "total_variation", "js_distance"]);

export const SPLITS = ["train", "eval", "test"] as const;

export const OPTIMIZERS = ["adamw", "adamw_8bit", "paged_adamw_32bit", "paged_adamw_8bit", "adafactor", "sgd"] as const;

/** `<split>.<metric> <op> <number>`, the split optional (defaults to the selection split). */
export const GATE_PATTERN =
  /^\s*(?:(train|eval|test)\.)?([a-z][a-z0-9_]*)\s*(>=|<=|>|<|==)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$/;

const REVISION_RULE = "a branch, tag or commit: letters, digits, '.', '_', '-' and '/', without '..' or a leading '/'";

const positiveInt = () => z.number().int().positive();

const ModelSchema = z
  .strictObject({
    base: z
      .string()
      .min(1)
      .describe(
        "The base model: a Hugging Face Hub id (`meta-llama/Llama-3.2-1B`), a local model directory " +
          "(relative to the recipe), or a built-in tiny model (`builtin:tiny-llama`, `builtin:tiny-bert`).",
      ),
    revision: z
      .string()
      .min(1)
      .refine((value) => revisionProblem(value) === undefined, REVISION_RULE)
      .default("main")
      .describe("Branch, tag or commit of a Hub model."),
    dtype: z
      .enum(["auto", "float32", "float16", "bfloat16"])
      .default("auto")
      .describe("Dtype the base weights are loaded in; `auto` keeps the checkpoint's own."),
    adapter: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Continue training from an existing PEFT LoRA adapter: a folder (relative to the recipe) or a Hub id " +
          "`owner/name[@revision]`. Its LoRA shape is used; a `lora` key that disagrees with it is an error.",
      ),
    trust_remote_code: z
      .boolean()
      .default(false)
      .describe(
        "Let the torch engine run Python code shipped in the model repo (a custom architecture's `auto_map`); " +
          "off unless you trust the repo. The tfjs engine never runs Python code.",
      ),
  })
  .describe("The base model to adapt.");

const QuantizationSchema = z
  .strictObject({
    bits: z.literal([4, 8]).describe("Weight precision of the frozen base model."),
    type: z.enum(["nf4", "fp4"]).default("nf4").describe("4-bit data type (ignored for 8-bit)."),
    double_quant: z
      .boolean()
      .default(false)
      .describe("Quantize the per-block scales too (saves ~0.4 bits per weight)."),
    compute_dtype: z
      .enum(["float32", "float16", "bfloat16"])
      .default("bfloat16")
      .describe("Dtype matrix products run in."),
    skip_modules: z
      .array(z.string().min(1))
      .default([])
      .describe("Modules kept in full precision besides the output head."),
  })
  .describe("Load the base model quantized (torch engine only). Leave out for full precision.");

const LoraSchema = z
  .strictObject({
    r: positiveInt().max(4096).default(16).describe("Rank of the low-rank update."),
    alpha: z
      .number()
      .positive()
      .default(32)
      .describe("Scale numerator: the update is scaled by alpha/r (alpha/sqrt(r) with rslora)."),
    dropout: z.number().min(0).lt(1).default(0.05).describe("Dropout on the LoRA input."),
    target_modules: z
      .union([z.literal("all-linear"), z.array(z.string().min(1)).min(1)])
      .default("all-linear")
      .describe(
        "Module names to adapt (`q_proj`, `v_proj`, ...) or `all-linear` (every linear layer but the output head).",
      ),
    modules_to_save: z
      .array(z.string().min(1))
      .default([])
      .describe("Modules trained in full and saved with the adapter. A classification head is always trained."),
    bias: z.enum(["none", "all", "lora_only"]).default("none").describe("Which biases are trained."),
    rslora: z.boolean().default(false).describe("Rank-stabilised scaling alpha/sqrt(r)."),
    dora: z.boolean().default(false).describe("Weight-decomposed LoRA (DoRA)."),
    init: z
      .enum(["default", "gaussian", "pissa", "olora"])
      .default("default")
      .describe(
        "Initialisation of the LoRA matrices, as PEFT's `init_lora_weights`: `default` (A Kaiming-uniform, B zeros) " +
          "or `gaussian` (A normal with standard deviation 1/r, B zeros; torch engine). `pissa` and `olora` rewrite " +
          "the base weights and are refused by `tune validate`.",
      ),
  })
  .describe("The LoRA adapter.");

const SplitSchema = z
  .strictObject({
    eval: z.number().gt(0).lt(1).default(0.1).describe("Share of rows held out for evaluation."),
    test: z.number().min(0).lt(1).default(0.1).describe("Share of rows held out for the final test."),
    seed: z
      .number()
      .int()
      .min(0)
      .default(42)
      .describe("Seed of the shuffle; the same seed gives the same split on every machine."),
    stratify: z.boolean().default(true).describe("Keep label proportions equal across splits."),
  })
  .describe("How `data.file` (or `data.hub`) is split into train/eval/test.");

const ColumnsSchema = z
  .strictObject({
    text: z.string().min(1).default("text").describe("Column with the input text."),
    label: z.string().min(1).default("label").describe("Column with the gold label."),
    messages: z
      .string()
      .min(1)
      .default("messages")
      .describe("Column with a chat conversation (list of {role, content})."),
    id: z.string().min(1).optional().describe("Column with a row id (defaults to the row number)."),
  })
  .describe("Which columns hold what. Other columns stay available to templates by name.");

const CleaningSchema = z
  .strictObject({
    strip_urls: z.boolean().default(false).describe("Remove http(s):// and www. links from texts."),
    strip_mentions: z.boolean().default(false).describe("Remove @user mentions from texts."),
    normalize_whitespace: z.boolean().default(true).describe("Collapse runs of whitespace and trim."),
    drop_empty: z
      .boolean()
      .default(true)
      .describe("Drop rows whose text is empty after cleaning (counted and reported)."),
  })
  .describe("Text cleaning applied before templates.");

const SampleSchema = z
  .strictObject({
    rows: positiveInt().describe("Number of rows drawn from the data before splitting."),
    seed: z.number().int().min(0).default(42).describe("Seed of the draw."),
  })
  .describe("Work on a seeded random subset of the rows.");

const HubDataSchema = z
  .strictObject({
    repo: z
      .string()
      .min(1)
      .refine((value) => hubIdProblem(value) === undefined, "a Hub dataset id, `owner/name`")
      .describe("The dataset repo on the Hub (`owner/name`)."),
    revision: z
      .string()
      .min(1)
      .refine((value) => revisionProblem(value) === undefined, REVISION_RULE)
      .default("main")
      .describe("Branch, tag or commit of the dataset; resolved to a commit, which the run records."),
    split: z
      .string()
      .regex(/^\w+(\.\w+)*$/, "a split name: letters, digits and '_', parts joined by '.'")
      .optional()
      .describe(
        "A split as the `datasets` library finds it: the card's default config (`configs:` in README.md), " +
          "else its file and folder naming rules (`data/train-00000-of-00002.parquet`, `test.csv`, `valid/`).",
      ),
    files: z
      .array(
        z
          .string()
          .min(1)
          .refine((value) => repoPathProblem(value) === undefined, "a path inside the repo, without '..'"),
      )
      .min(1)
      .optional()
      .describe(
        "Repo paths instead of `split`, read in order; `*`, `?` and `[...]` match within a name, `**` any folders.",
      ),
  })
  .superRefine((value, context) => {
    if ((value.split === undefined) === (value.files === undefined))
      context.addIssue({
        code: "custom",
        path: value.split === undefined ? [] : ["files"],
        input: value.split === undefined ? value : value.files,
        message: "give exactly one of `split` and `files`",
      });
  })
  .describe("Parquet, CSV or JSON Lines files of a Hub dataset, fetched into the Hugging Face cache.");

/** A split's data: a local file, or files of a Hub dataset. */
const SplitSourceSchema = (what: string) =>
  z
    .union([z.string().min(1), z.strictObject({ hub: HubDataSchema })])
    .optional()
    .describe(`${what}: a file (CSV, JSONL, JSON or Parquet), or \`{hub: {repo, revision, split | files}}\`.`);

const DataSchema = z
  .strictObject({
    train: SplitSourceSchema("Training data"),
    eval: SplitSourceSchema("Evaluation data, used to pick the best checkpoint"),
    test: SplitSourceSchema("Test data, evaluated and reported, never used for selection"),
    file: z
      .string()
      .min(1)
      .optional()
      .describe("One file split into train/eval/test by `split` (instead of train/eval/test)."),
    hub: HubDataSchema.optional().describe(
      "Files of a Hub dataset split into train/eval/test by `split`, as `file` is (instead of `file` or train/eval/test).",
    ),
    split: SplitSchema.prefault({}),
    sample: SampleSchema.optional(),
    format: z
      .enum(["auto", "csv", "jsonl", "json", "parquet"])
      .default("auto")
      .describe("File format; `auto` goes by the file extension."),
    delimiter: z.string().length(1).optional().describe("CSV field delimiter (detected when left out)."),
    columns: ColumnsSchema.prefault({}),
    labels: z
      .array(z.string().min(1))
      .min(2)
      .optional()
      .describe("Label names in id order (id 0 first). Required by classification tasks."),
    label_map: z
      .record(z.string(), z.string().min(1))
      .optional()
      .describe("Maps raw values in the label column (codes such as 0/1) to label names."),
    value_maps: z
      .record(z.string(), z.record(z.string(), z.string()))
      .optional()
      .describe("Per column, maps codes to words for templates (a codebook), e.g. gndr: {1: man, 2: woman}."),
    clean: CleaningSchema.prefault({}),
    balance: z
      .enum(["none", "undersample", "oversample"])
      .default("none")
      .describe("Balance the training split's classes."),
    max_length: positiveInt()
      .max(1_048_576)
      .default(512)
      .describe("Tokens per example; longer ones are truncated and counted."),
  })
  .describe("Where the data is and how to read and shape it.");

const FewShotSchema = z
  .strictObject({
    per_class: positiveInt().max(64).describe("Examples drawn from the train split for each label."),
    seed: z.number().int().min(0).default(42).describe("Seed of the draw and of the example order."),
    example: z
      .string()
      .min(1)
      .optional()
      .describe("How one example is written; defaults to the prompt followed by the completion."),
    separator: z.string().default("\n\n").describe("Text between examples."),
    placement: z
      .enum(["before-prompt", "placeholder"])
      .default("before-prompt")
      .describe("Put the examples before the prompt, or where the prompt says `{examples}`."),
  })
  .describe("Few-shot examples drawn deterministically from the training split.");

const OptionsSchema = z
  .strictObject({
    shuffle: z.boolean().default(true).describe("List the options in a different seeded order for each row."),
    seed: z.number().int().min(0).default(42).describe("Seed of the per-row order."),
    separator: z.string().default(", ").describe("Text between options."),
  })
  .describe("Fills `{options}` in the prompt with the label names (survey-style questions).");

const TemplateSchema = z
  .strictObject({
    prompt: z
      .string()
      .min(1)
      .optional()
      .describe("Prompt with `{column}` placeholders (and `{examples}`, `{options}`)."),
    completion: z
      .string()
      .default("{label}")
      .describe("What the model learns to answer; loss is computed on these tokens only."),
    system: z.string().min(1).optional().describe("System message for chat models."),
    chat: z
      .boolean()
      .default(false)
      .describe("Render through the model's chat template (prompt as the user turn) instead of as plain text."),
    few_shot: FewShotSchema.optional(),
    options: OptionsSchema.optional(),
  })
  .describe("How rows become model input.");

const GenerationSchema = z
  .strictObject({
    max_new_tokens: positiveInt().max(32_768).default(20).describe("Longest answer generated."),
    temperature: z.number().min(0).max(10).default(0).describe("0 means greedy decoding (reproducible)."),
    top_p: z.number().gt(0).max(1).default(1).describe("Nucleus sampling mass (with temperature > 0)."),
    stop: z.array(z.string().min(1)).default([]).describe("Extra strings that end an answer."),
    answer_after: z
      .string()
      .min(1)
      .optional()
      .describe("Keep only the text after the last occurrence of this marker (e.g. `label:`)."),
  })
  .describe("Decoding settings for generated answers.");

const TrainingSchema = z
  .strictObject({
    epochs: z
      .number()
      .positive()
      .max(10_000)
      .optional()
      .describe("Passes over the training data (default 3 when max_steps is not set)."),
    max_steps: positiveInt().optional().describe("Optimizer steps to run; overrides epochs."),
    batch_size: positiveInt().max(65_536).default(8).describe("Examples per micro-batch per device."),
    eval_batch_size: positiveInt()
      .max(65_536)
      .optional()
      .describe("Examples per evaluation batch (default: batch_size)."),
    gradient_accumulation: positiveInt().max(65_536).default(1).describe("Micro-batches per optimizer step."),
    lr: z.number().positive().max(1).default(2e-4).describe("Peak learning rate."),
    scheduler: z.enum(["linear", "cosine", "constant"]).default("linear").describe("Learning-rate decay after warmup."),
    warmup_steps: z.number().int().min(0).optional().describe("Steps of linear warmup."),
    warmup_ratio: z
      .number()
      .min(0)
      .lt(1)
      .optional()
      .describe("Warmup as a share of all steps (instead of warmup_steps)."),
    weight_decay: z.number().min(0).max(1).default(0).describe("Decoupled weight decay."),
    max_grad_norm: z.number().min(0).default(1).describe("Gradient clipping norm; 0 turns clipping off."),
    optimizer: z
      .enum(OPTIMIZERS)
      .default("adamw")
      .describe("Paged and 8-bit variants need bitsandbytes (torch engine)."),
    precision: z
      .enum(["auto", "fp32", "fp16", "bf16"])
      .default("auto")
      .describe("Training precision; `auto` is bf16 on GPUs that support it, else fp32."),
    gradient_checkpointing: z.boolean().default(false).describe("Recompute activations to save memory."),
    group_by_length: z.boolean().default(true).describe("Batch examples of similar length to save padding."),
    padding_free: z
      .boolean()
      .default(true)
      .describe(
        "torch engine, decoder models: concatenate each step's examples into unpadded rows that attend only within each example (the same examples, loss and gradient per step); false pads every micro-batch.",
      ),
    compile: z
      .boolean()
      .default(false)
      .describe(
        "torch engine: run the model under torch.compile (slower first steps while it compiles, faster after).",
      ),
    seed: z.number().int().min(0).default(42).describe("Seed of initialisation, dropout and data order."),
    logging_steps: positiveInt().default(10).describe("Log loss and learning rate every N steps."),
  })
  .describe("Optimisation settings.");

const CheckpointsSchema = z
  .strictObject({
    every: z
      .union([z.literal("epoch"), positiveInt()])
      .default("epoch")
      .describe("Save (and evaluate) each epoch, or every N optimizer steps."),
    keep: positiveInt().default(2).describe("Newest checkpoints kept on disk."),
    keep_best: z.boolean().default(true).describe("Also keep the best checkpoint, however old."),
  })
  .describe("When checkpoints are written and how many stay.");

const ParseSchema = z
  .strictObject({
    match: z
      .enum(["contains", "exact", "first-word"])
      .default("contains")
      .describe("How a generated answer is matched to a label (case-insensitive)."),
    fallback: z.string().min(1).default("error").describe("Label recorded when no label matches."),
  })
  .describe("Turning generated answers into labels.");

const EvalSchema = z
  .strictObject({
    splits: z
      .array(z.enum(SPLITS))
      .min(1)
      .optional()
      .describe("Splits evaluated at every checkpoint (default: eval and test, where present)."),
    metrics: z
      .array(z.enum(METRICS))
      .min(1)
      .optional()
      .describe("Metrics reported (default: accuracy, f1_macro, f1_weighted; loss for causal-lm)."),
    best_metric: z.enum(METRICS).optional().describe("Metric on the eval split that picks the best checkpoint."),
    gates: z
      .array(z.string().regex(GATE_PATTERN, "a gate looks like `f1_weighted >= 0.9` or `test.accuracy > 0.8`"))
      .default([])
      .describe(
        "Conditions the best checkpoint must meet, e.g. `f1_weighted >= 0.9`; a failed gate exits with code 3.",
      ),
    parse: ParseSchema.prefault({}),
    subgroups: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "Columns whose values split the comparison of predicted and true label shares, e.g. gender and region in a survey.",
      ),
  })
  .describe("How checkpoints are judged.");

/** `host:port`, the host a name, an IPv4 address or a bracketed IPv6 address. */
export const ENDPOINT_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):([1-9]\d{0,4})$/;

/** torchrun's default port, which Slurm and Kubeflow examples use too. */
export const DEFAULT_RENDEZVOUS_PORT = 29500;

const RendezvousSchema = z
  .strictObject({
    endpoint: z
      .string()
      .regex(ENDPOINT_PATTERN, "a rendezvous endpoint is `host:port`, e.g. `node01:29500`")
      .refine((value) => Number(value.slice(value.lastIndexOf(":") + 1)) <= 65535, "a port is at most 65535")
      .optional()
      .describe(
        "`host:port` of node 0, where the other nodes meet it. Default: the first host of Slurm's " +
          `SLURM_JOB_NODELIST (or torchrun's PET_MASTER_ADDR), port ${DEFAULT_RENDEZVOUS_PORT}.`,
      ),
    timeout_s: positiveInt()
      .max(86_400)
      .default(300)
      .describe("Seconds node 0 waits for every node to arrive (and the others wait to reach it) before giving up."),
  })
  .describe("Where the nodes of a multi-node run meet (torchrun's rendezvous, hosted by node 0).");

const DistributedSchema = z
  .strictObject({
    nodes: positiveInt()
      .max(1024)
      .default(1)
      .describe(
        "Machines that train together. Each runs the same `tune recipe` command with its node rank " +
          "(`--node-rank`, or SLURM_NODEID / PET_NODE_RANK from the cluster); node 0 writes the run directory.",
      ),
    processes_per_node: positiveInt()
      .max(1024)
      .optional()
      .describe("Training processes on each node, one per GPU (gloo on the CPU). Default 1."),
    processes: positiveInt()
      .max(1024)
      .optional()
      .describe("The same as `processes_per_node` (its name before multi-node training); give one of the two."),
    rendezvous: RendezvousSchema.optional(),
    strategy: z
      .enum(["ddp", "fsdp", "deepspeed"])
      .default("ddp")
      .describe(
        "Data parallel (ddp): each process holds the whole frozen base. `fsdp` (FSDP2) shards the base, the " +
          "adapter and its optimizer state over the processes; not with `quantization`. `deepspeed` is refused.",
      ),
  })
  .describe("Training across several processes (torch engine): batch_size is per process, as in the Trainer.");

const HubSchema = z
  .strictObject({
    repo: z
      .string()
      .regex(/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/, "a Hub repo id looks like `user/name`")
      .describe("Target repository, `user/name` or `org/name`."),
    private: z.boolean().default(true).describe("Create the repo private."),
    push: z
      .enum(["adapter", "merged"])
      .default("adapter")
      .describe("Push the adapter, or the base model with the adapter merged in."),
    when: z
      .enum(["best", "end", "every"])
      .default("best")
      .describe("Push the best checkpoint at the end, the last one, or every checkpoint."),
    revision: z
      .string()
      .min(1)
      .refine((value) => revisionProblem(value) === undefined, REVISION_RULE)
      .default("main")
      .describe("Branch to push to."),
    license: z
      .enum(HUB_LICENSES)
      .optional()
      .describe(
        "License in the model card, one of the Hub's license identifiers (`other` for any other); left out when not set.",
      ),
  })
  .describe("Publishing to the Hugging Face Hub.");

const MergeSchema = z
  .strictObject({
    dtype: z.enum(["auto", "float32", "float16", "bfloat16"]).default("auto").describe("Dtype of the merged weights."),
  })
  .describe("Merge the best adapter into the base model at the end of the run (into `<run>/merged`).");

export const RecipeSchema = z
  .strictObject({
    $schema: z.string().optional().describe("Path or URL of this JSON Schema, for editors."),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a run name uses letters, digits, '.', '_' and '-'")
      .max(96)
      .optional()
      .describe("Run name; the run directory is `<out>/<name>`. Defaults to the recipe's file name."),
    description: z.string().optional().describe("Free text, copied into the model card."),
    task: z
      .enum(TASKS)
      .describe("What is trained: a classifier head, a causal LM (SFT), a generated label, or nothing (prompting)."),
    engine: z
      .enum(["auto", "torch", "tfjs"])
      .default("auto")
      .describe("`torch` (PyTorch via python-bridge), `tfjs` (built in) or `auto` (torch when usable)."),
    model: ModelSchema,
    quantization: QuantizationSchema.optional(),
    lora: LoraSchema.prefault({}),
    data: DataSchema,
    template: TemplateSchema.optional(),
    generation: GenerationSchema.prefault({}),
    training: TrainingSchema.prefault({}),
    checkpoints: CheckpointsSchema.prefault({}),
    eval: EvalSchema.prefault({}),
    distributed: DistributedSchema.optional(),
    hub: HubSchema.optional(),
    merge: MergeSchema.optional(),
  })
  .describe("A tune recipe: everything needed to fine-tune, evaluate and publish one LoRA adapter.");

/** What a user writes (defaults optional). `defineRecipe` takes this. */
export type RecipeInput = z.input<typeof RecipeSchema>;
/** A validated recipe with every default filled in. */
export type Recipe = z.output<typeof RecipeSchema>;
export type Task = (typeof TASKS)[number];
export type Metric = (typeof METRICS)[number];
export type SplitName = (typeof SPLITS)[number];
/** Files of a Hub dataset, as a recipe names them. */
export type HubData = z.output<typeof HubDataSchema>;
