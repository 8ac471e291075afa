import type { Task } from "./schema.js";

export const STARTER_TASKS: readonly Task[] = [
  "sequence-classification",
  "generative-classification",
  "causal-lm",
  "prompting",
];

export interface Starter {
  /** The commented recipe, valid as written once its data file exists. */
  recipe: string;
  /** Example data the recipe points at, relative to the recipe. */
  dataFile: string;
  dataText: string;
}

const REVIEWS: ReadonlyArray<[string, string]> = [
  ["The battery lasts for days and the screen is gorgeous.", "positive"],
  ["Stopped working after a week and support never answered.", "negative"],
  ["Exactly what I ordered, arrived early, works perfectly.", "positive"],
  ["The strap broke the first time I wore it.", "negative"],
  ["Comfortable, quiet and easy to set up. Recommended.", "positive"],
  ["Smells of plastic and the lid does not close.", "negative"],
  ["My kids love it and so do I.", "positive"],
  ["Overpriced for what it is; returned it.", "negative"],
  ["Sturdy build, great value, would buy again.", "positive"],
  ["The app crashes every time I open it.", "negative"],
  ["Fits well and the colour matches the photos.", "positive"],
  ["Arrived scratched and missing a screw.", "negative"],
];

const header = (schemaRef: string) => `# yaml-language-server: $schema=${schemaRef}
# A tune recipe. Run it with:   npx tune recipe recipe.yaml
# Check it without running:      npx tune validate recipe.yaml --print-plan
# Every field not written here has a default; \`tune validate --print-plan\` shows them all.
`;

const SECTIONS_COMMON = `
training:
  epochs: 3                  # or max_steps: 1000
  batch_size: 8
  gradient_accumulation: 1   # effective batch = batch_size x gradient_accumulation
  lr: 2.0e-4
  warmup_ratio: 0.05
  seed: 42

checkpoints:
  every: epoch               # or a number of optimizer steps
  keep: 2                    # newest kept, plus the best

# hub:                       # publish the best adapter with a model card
#   repo: your-name/your-adapter
#   private: true
`;

/**
 * A commented starter recipe for `task`, with the example data it points at. `schemaRef` is
 * the path (relative to the recipe) or URL of the JSON Schema editors should use.
 */
export function starterRecipe(task: Task, schemaRef: string): Starter {
  const top = header(schemaRef);
  const csv = `text,label\n${REVIEWS.map(([text, label]) => `"${text}",${label}`).join("\n")}\n`;
  switch (task) {
    case "sequence-classification":
      return {
        dataFile: "data/reviews.csv",
        dataText: csv,
        recipe: `${top}
task: sequence-classification   # a classification head on top of the model
engine: auto                     # torch when PyTorch is set up, else the built-in tfjs engine

model:
  base: builtin:tiny-llama       # or a Hub id such as meta-llama/Llama-3.2-1B, or a local folder

lora:
  r: 16
  alpha: 32
  dropout: 0.05
  target_modules: all-linear

data:
  file: data/reviews.csv         # replace with your CSV/JSONL/Parquet (columns text, label)
  labels: [negative, positive]   # label names, id 0 first
  split: {eval: 0.2, test: 0.2, seed: 42, stratify: true}
  max_length: 256

eval:
  best_metric: f1_weighted
  gates: ["f1_weighted >= 0.5"]  # the run fails (exit 3) when the best checkpoint misses this
${SECTIONS_COMMON}`,
      };
    case "generative-classification":
      return {
        dataFile: "data/reviews.csv",
        dataText: csv,
        recipe: `${top}
task: generative-classification  # the model learns to write the label after the prompt

model:
  base: builtin:tiny-llama

data:
  file: data/reviews.csv
  labels: [negative, positive]
  split: {eval: 0.2, test: 0.2, seed: 42}

template:
  prompt: "Review: {text}\\nSentiment:"
  completion: " {label}"         # loss is computed on these tokens only

generation:
  max_new_tokens: 5

eval:
  parse: {match: contains, fallback: error}
${SECTIONS_COMMON}`,
      };
    case "causal-lm":
      return {
        dataFile: "data/conversations.jsonl",
        dataText: `${REVIEWS.slice(0, 6)
          .map(([text, label]) =>
            JSON.stringify({
              messages: [
                { role: "system", content: "You summarise product reviews in one word." },
                { role: "user", content: text },
                { role: "assistant", content: label },
              ],
            }),
          )
          .join("\n")}\n`,
        recipe: `${top}
task: causal-lm                  # supervised fine-tuning on conversations

model:
  base: builtin:tiny-llama

data:
  file: data/conversations.jsonl # one {"messages": [{role, content}, ...]} per line
  split: {eval: 0.2, test: 0.0, seed: 42}
  max_length: 1024
${SECTIONS_COMMON}`,
      };
    case "prompting":
      return {
        dataFile: "data/reviews.csv",
        dataText: csv,
        recipe: `${top}
task: prompting                  # no training: zero- or few-shot answers, parsed and scored

model:
  base: builtin:tiny-llama       # usually an instruct model, e.g. Qwen/Qwen2.5-1.5B-Instruct

data:
  file: data/reviews.csv
  labels: [negative, positive]
  split: {eval: 0.5, test: 0.0, seed: 42}

template:
  prompt: "Is this review positive or negative? Answer with one word.\\nReview: {text}\\nAnswer:"
  few_shot: {per_class: 2, seed: 42}

generation:
  max_new_tokens: 5

eval:
  parse: {match: contains, fallback: error}
`,
      };
  }
}
