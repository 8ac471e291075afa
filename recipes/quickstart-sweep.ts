// A recipe in TypeScript: the same schema as YAML, checked by your editor, with computed values.
// Sweep the LoRA rank from the shell:
//   for r in 4 8 16; do RANK=$r npx tune recipe recipes/quickstart-sweep.ts; done
import { defineRecipe } from "tune";

const rank = Number(process.env.RANK ?? 8);

export default defineRecipe({
  name: `quickstart-r${rank}`,
  description: `Quickstart sentiment classifier with LoRA rank ${rank}.`,
  task: "sequence-classification",
  engine: "tfjs",
  model: { base: "builtin:tiny-llama" },
  lora: { r: rank, alpha: 2 * rank, dropout: 0, target_modules: "all-linear" },
  data: {
    file: "data/quickstart/reviews.csv",
    labels: ["negative", "positive"],
    split: { eval: 0.2, test: 0.2, seed: 7 },
    max_length: 64,
  },
  training: { epochs: 4, batch_size: 8, lr: 1e-3, warmup_ratio: 0.1 },
  eval: { best_metric: "accuracy" },
});
