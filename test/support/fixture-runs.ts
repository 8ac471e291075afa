/**
 * The runs e2e tests read but do not make: trained once per vitest run by the e2e tier's global
 * setup (test/support/setup-fixture-runs.ts), each in a folder of its own holding its recipes
 * and data, with `tune recipe <file> --out runs`. A test gets a copy of the folder
 * (`fixtureCopy` in test/support/fixtures.ts), so no two tests share anything they can change.
 * The recipes are the ones those tests trained themselves before; what a test still needs of
 * them (a recipe to vary, say) it imports from here.
 */
export interface FixtureRun {
  /** The folder's files: recipes and data. */
  files: Record<string, string>;
  /** The recipes trained, in order, each into runs/<its name>. */
  train: string[];
  /** Exit codes that mean trained as intended (3: a run whose gates fail on purpose). */
  exitCodes?: number[];
}

const NOTE_TEXTS = ["lovely day", "awful delay", "great help", "rude reply"];
const REVIEW_TEXTS = ["great value", "broke quickly", "works well", "waste of money"];

/** Short notes labelled good or bad: a classifier to push, merge or name where a verb wants another task. */
export const NOTES = {
  data: `text,label\n${Array.from({ length: 32 }, (_, i) => `"note ${i}: ${NOTE_TEXTS[i % 4]}",${i % 2 ? "bad" : "good"}`).join("\n")}\n`,
  recipe:
    "task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8}\ndata: {file: d.csv, labels: [good, bad], split: {eval: 0.25, seed: 1}}\ntraining: {max_steps: 4, batch_size: 8, lr: 0.02}\ncheckpoints: {every: 2}\n",
};

/** The same notes with an id column: a classifier and a generative one to label new files with, and a causal LM. */
export const PREDICT = {
  data: `id,text,label\n${Array.from({ length: 32 }, (_, i) => `r${i},"note ${i}: ${NOTE_TEXTS[i % 4]}",${i % 2 ? "bad" : "good"}`).join("\n")}\n`,
  classifier:
    "task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8}\ndata: {file: d.csv, labels: [good, bad], split: {eval: 0.25, seed: 1}}\ntraining: {max_steps: 4, batch_size: 8, lr: 0.02}\n",
  generative:
    'task: generative-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8}\ndata: {file: d.csv, labels: [good, bad], split: {eval: 0.25, seed: 1}, max_length: 48}\ntemplate: {prompt: "Note: {text}\\nVerdict:", completion: " {label}"}\ngeneration: {max_new_tokens: 3}\ntraining: {max_steps: 2, batch_size: 8, lr: 0.01}\n',
  lm: "task: causal-lm\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8}\ndata: {file: lm.jsonl, split: {eval: 0.25, seed: 1}, max_length: 32}\ntraining: {max_steps: 1, batch_size: 4}\n",
  lmData: Array.from({ length: 8 }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: "user", content: `question ${i}` },
        { role: "assistant", content: `answer ${i}` },
      ],
    }),
  ).join("\n"),
};

/** Product reviews labelled positive or negative, with eval and test splits: a run to evaluate again, and one to report on. */
export const REVIEWS = {
  data: `text,label\n${Array.from({ length: 40 }, (_, i) => `"review ${i}: ${REVIEW_TEXTS[i % 4]}",${i % 2 ? "negative" : "positive"}`).join("\n")}\n`,
  recipe:
    "task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8}\ndata: {file: d.csv, labels: [positive, negative], split: {eval: 0.2, test: 0.2, seed: 1}}\ntraining: {max_steps: 6, batch_size: 8, lr: 0.01}\ncheckpoints: {every: 3, keep: 2}\n",
  report:
    'name: report-demo\ntask: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8}\ndata: {file: d.csv, labels: [positive, negative], split: {eval: 0.2, test: 0.2, seed: 1}}\ntraining: {max_steps: 12, batch_size: 8, lr: 0.01, logging_steps: 1}\ncheckpoints: {every: 3, keep: 1}\neval: {gates: ["accuracy >= 0"]}\n',
};

/** A classifier with LoRA on every linear layer, to merge into its base. */
export const MERGE = {
  recipe:
    "task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 16, target_modules: all-linear}\ndata: {file: d.csv, labels: [good, bad], split: {eval: 0.25, seed: 1}}\ntraining: {max_steps: 4, batch_size: 8, lr: 0.02}\ncheckpoints: {every: 4}\n",
};

/** Two runs of one classifier and a pipeline over them, to damage, lock and re-run. */
export const INTEGRITY = {
  data: `text,label\n${Array.from({ length: 24 }, (_, i) => `"note ${i}: ${NOTE_TEXTS[i % 4]}",${i % 2 ? "bad" : "good"}`).join("\n")}\n`,
  recipe:
    "task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\nlora: {r: 4, alpha: 8}\ndata: {file: d.csv, labels: [good, bad], split: {eval: 0.25, test: 0, seed: 1}}\ntraining: {max_steps: 4, batch_size: 8, lr: 0.02}\ncheckpoints: {every: 2, keep: 5}\n",
  pipeline: "stages:\n  - recipe: exp.yaml\n    pass: [good]\n  - recipe: other.yaml\n",
};

/** Zero-shot, few-shot and fine-tuned runs on one split, and a fine-tune on other rows. */
const COMPARE_DATA = `text,label\n${Array.from({ length: 40 }, (_, i) => `"post ${i}: ${i % 2 ? "we oppose the march" : "we support the march"}",${i % 2 ? "oppose" : "support"}`).join("\n")}\n`;
const COMPARE_DATA_BLOCK =
  "data: {file: d.csv, labels: [oppose, support], split: {eval: 0.2, test: 0.2, seed: 5}, max_length: 160}\n";
const COMPARE_PROMPT = 'template:\n  prompt: "Support or oppose?\\nText: {text}\\nAnswer:"\n';

/** A chat model trained to answer every message the same way, on each engine. */
export const CHAT = {
  data: Array.from({ length: 24 }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: "user", content: `Please reply to message ${i}.` },
        { role: "assistant", content: "Thank you, noted." },
      ],
    }),
  ).join("\n"),
  recipe: (engine: string) =>
    `task: causal-lm\nengine: ${engine}\nmodel: {base: builtin:tiny-llama}\nlora: {r: 8, alpha: 16, dropout: 0.0, target_modules: all-linear}\ndata: {file: c.jsonl, split: {eval: 0.25, seed: 1}, max_length: 64}\ntraining: {max_steps: 30, batch_size: 6, lr: 0.02}\ngeneration: {max_new_tokens: 8}\n`,
};

/** Every fixture run, the slowest first so that training them in parallel ends soonest. */
export const FIXTURE_RUNS = {
  "chat-torch": { files: { "c.yaml": CHAT.recipe("torch"), "c.jsonl": CHAT.data }, train: ["c.yaml"] },
  "chat-tfjs": { files: { "c.yaml": CHAT.recipe("tfjs"), "c.jsonl": CHAT.data }, train: ["c.yaml"] },
  compare: {
    files: {
      "d.csv": COMPARE_DATA,
      "other.csv": COMPARE_DATA,
      "zero.yaml": `task: prompting\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\n${COMPARE_DATA_BLOCK}${COMPARE_PROMPT}generation: {max_new_tokens: 2}\neval: {splits: [eval]}\n`,
      "few.yaml": `task: prompting\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\n${COMPARE_DATA_BLOCK}${COMPARE_PROMPT}  few_shot: {per_class: 1, seed: 2}\ngeneration: {max_new_tokens: 2}\n`,
      "tuned.yaml": `task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\n${COMPARE_DATA_BLOCK}training: {max_steps: 6, batch_size: 8, lr: 0.02}\n`,
      "elsewhere.yaml": `task: sequence-classification\nengine: tfjs\nmodel: {base: builtin:tiny-llama}\n${COMPARE_DATA_BLOCK.replace("d.csv", "other.csv").replace("seed: 5", "seed: 6")}training: {max_steps: 1, batch_size: 8}\n`,
    },
    train: ["zero.yaml", "few.yaml", "tuned.yaml", "elsewhere.yaml"],
  },
  reviews: {
    files: { "exp.yaml": REVIEWS.recipe, "report.yaml": REVIEWS.report, "d.csv": REVIEWS.data },
    train: ["exp.yaml", "report.yaml"],
  },
  predict: {
    files: {
      "cls.yaml": PREDICT.classifier,
      "gen.yaml": PREDICT.generative,
      "lm.yaml": PREDICT.lm,
      "d.csv": PREDICT.data,
      "lm.jsonl": PREDICT.lmData,
    },
    train: ["cls.yaml", "gen.yaml", "lm.yaml"],
  },
  notes: {
    files: {
      "cls.yaml": NOTES.recipe,
      "gated.yaml": NOTES.recipe.replace(
        "training:",
        "eval: {gates: ['accuracy >= 0.999', 'eval.loss < 0.0001']}\ntraining:",
      ),
      "d.csv": NOTES.data,
    },
    train: ["cls.yaml", "gated.yaml"],
    exitCodes: [0, 3],
  },
  integrity: {
    files: {
      "exp.yaml": INTEGRITY.recipe,
      "other.yaml": INTEGRITY.recipe.replace("lr: 0.02", "lr: 0.03"),
      "d.csv": INTEGRITY.data,
      "new.csv": "text\nlovely help\nrude delay\n",
      "p.yaml": INTEGRITY.pipeline,
    },
    train: ["exp.yaml", "other.yaml"],
  },
  merge: { files: { "cls.yaml": MERGE.recipe, "d.csv": NOTES.data }, train: ["cls.yaml"] },
} satisfies Record<string, FixtureRun>;

export type FixtureName = keyof typeof FIXTURE_RUNS;
