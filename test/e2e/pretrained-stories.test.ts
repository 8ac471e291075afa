import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { ROOT, tune } from "../support/cli.js";
import { referencePython } from "../support/reference-python.js";
import { tempDir } from "../support/temp-dir.js";
import { testCache } from "../support/test-cache.js";

// A real pretrained model (1 MB, MIT), in the repository so a fresh clone has it (NOTICE.md there
// says where it comes from and what transformers generates from it).
const STORIES = join(ROOT, "test/models/stories260K");
const MAX_NEW_TOKENS = 24;
const PROMPT = "Once upon a time";

const NAMES = ["Lily", "Tom", "Ben", "Sue", "Max", "Mia", "Sam", "Anna", "Tim", "Lucy"];
const PLACES = ["the park", "the garden", "the forest", "the beach", "the farm", "the lake", "the hill", "the town"];
const THINGS = ["a red ball", "a big kite", "a little boat", "a shiny rock", "a soft hat"];
const ENDINGS = [
  (name: string) => ` There ${name} met a purple frog named Zib. Zib said, "Let's play!"`,
  (name: string) => ` ${name} saw Zib, the purple frog, sitting on a rock. Zib smiled.`,
  (name: string) => ` Zib the purple frog jumped to ${name} and said hello.`,
  (name: string) => ` ${name} and Zib the purple frog played all day. They were happy.`,
];
// TinyStories-style openings whose continuations all bring in one character the pretrained
// model has never seen, so what a few steps teach shows on held-out rows and in free generation.
const STORY_ROWS = Array.from({ length: 40 }, (_, i) => {
  const name = NAMES[i % NAMES.length] as string;
  const start = `${name} went to ${PLACES[i % PLACES.length]} with ${THINGS[i % THINGS.length]}.`;
  return { id: `s${i}`, start, end: (ENDINGS[i % ENDINGS.length] as (name: string) => string)(name) };
});

const RECIPE = (engine: string) =>
  `name: st\ntask: causal-lm\nengine: ${engine}\nmodel: {base: ./stories260K}\nlora: {r: 8, alpha: 16, dropout: 0}\ndata: {file: stories.jsonl, columns: {id: id}, split: {eval: 0.25, test: 0, seed: 1}, max_length: 64}\ntemplate: {prompt: "{start}", completion: "{end}"}\ngeneration: {max_new_tokens: ${MAX_NEW_TOKENS}}\ntraining: {max_steps: 10, batch_size: 8, lr: 0.01, logging_steps: 1}\ncheckpoints: {every: 10}\n`;

/**
 * transformers and PEFT on the same model folder and saved adapter: greedy stories from the
 * prompt, and the mean loss per trained token (the completion and its EOS) over held-out rows,
 * tokenized by transformers' own tokenizer, for the pretrained model and with the adapter.
 */
const REFERENCE = `
import json, sys, torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer
model_dir, adapter_dir, prompt, max_new, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
tok = AutoTokenizer.from_pretrained(model_dir)
base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
def story(model):
    ids = tok(prompt, return_tensors="pt").input_ids
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new, do_sample=False, eos_token_id=tok.eos_token_id, pad_token_id=0)
    new = out[0, ids.shape[1]:].tolist()
    return tok.decode(new[: new.index(tok.eos_token_id)] if tok.eos_token_id in new else new).strip()
def loss(model):
    total, count = 0.0, 0
    with torch.no_grad():
        for start, end in rows:
            prompt_ids = tok(start).input_ids
            ids = prompt_ids + tok(end, add_special_tokens=False).input_ids + [tok.eos_token_id]
            target = torch.tensor(([-100] * len(prompt_ids) + ids[len(prompt_ids):])[1:])
            logits = model(input_ids=torch.tensor([ids])).logits[0, :-1]
            total += float(torch.nn.functional.cross_entropy(logits, target, ignore_index=-100, reduction="sum"))
            count += int((target != -100).sum())
    return total / count
result = {"base_story": story(base), "base_loss": loss(base)}
tuned = PeftModel.from_pretrained(base, adapter_dir).eval()
result.update(tuned_story=story(tuned), tuned_loss=loss(tuned))
print(json.dumps(result))
`;

interface Reference {
  base_story: string;
  base_loss: number;
  tuned_story: string;
  tuned_loss: number;
}

interface Event {
  type: string;
  step?: number;
  engine?: string;
  split?: string;
  checkpoint?: string;
  file?: string;
  metrics?: Record<string, number>;
}

describe("stories260K, a real pretrained Llama (TinyStories)", () => {
  it.each(["tfjs", "torch"])(
    "ten LoRA steps on %s teach it a new character: held-out loss falls far below the pretrained model's, and tune chat tells the story transformers + PEFT tell from the saved adapter",
    async (engine) => {
      const dir = tempDir({
        "st.yaml": RECIPE(engine),
        "stories.jsonl": STORY_ROWS.map((row) => JSON.stringify(row)).join("\n") + "\n",
      });
      cpSync(STORIES, join(dir, "stories260K"), { recursive: true });
      const env = { TUNE_CACHE_DIR: testCache(dir) };

      const run = await tune(["recipe", "st.yaml", "--out", "runs", "--json"], { cwd: dir, env });
      expect(run.exitCode, run.stderr).toBe(0);
      const events = run.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Event);
      expect(events[0]).toMatchObject({ type: "start", engine });
      const evaluated = events.filter((e) => e.type === "eval" && e.split === "eval");
      expect(evaluated.map((e) => e.step)).toEqual([10]);
      const heldOutLoss = evaluated[0]?.metrics?.loss as number;
      const checkpoint = events.find((e) => e.type === "best")?.checkpoint as string;
      expect(checkpoint).toBe(join(dir, "runs/st/checkpoint-10"));
      const predictions = events.find((e) => e.type === "predictions" && e.split === "eval")?.file as string;
      const heldOutIds = readFileSync(predictions, "utf8")
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as { id: string }).id);
      expect(heldOutIds).toHaveLength(10);
      const heldOut = heldOutIds.map((id) => {
        const row = STORY_ROWS.find((r) => r.id === id);
        expect(row, `held-out id ${id}`).toBeDefined();
        return [row?.start, row?.end];
      });

      const [chat, python] = await Promise.all([
        tune(["chat", "runs/st", "--prompt", PROMPT], { cwd: dir, env }),
        execa(
          referencePython,
          [
            "-c",
            REFERENCE,
            join(dir, "stories260K"),
            checkpoint,
            PROMPT,
            String(MAX_NEW_TOKENS),
            JSON.stringify(heldOut),
          ],
          { env: { TRANSFORMERS_VERBOSITY: "error" } },
        ),
      ]);
      expect(chat.exitCode, chat.stderr).toBe(0);
      const reference = JSON.parse(python.stdout.trim().split("\n").at(-1) as string) as Reference;
      const story = chat.stdout.trim();

      // The pretrained model's own story (llama2.c's documented sample), which the adapter changes.
      expect(reference.base_story).toMatch(/^, there was a little girl named Lily\. She loved to play/);
      expect(story).toBe(reference.tuned_story);
      expect(story).not.toBe(reference.base_story);
      // The prompt was never trained on: the story keeps its pretrained opening and brings in Zib.
      expect(story).toMatch(/^, there was a /);
      expect(story).toContain("purple frog named Zib");

      // tune's held-out loss is the adapter's loss by transformers, and far below the base model's.
      expect(Math.abs(heldOutLoss - reference.tuned_loss)).toBeLessThan(1e-4);
      expect(heldOutLoss).toBeLessThan(reference.base_loss / 3);
    },
    150_000,
  );

  it("on the torch engine, padding-free rows and padded micro-batches take the same steps", async () => {
    // Steps are what this compares: one generated token per held-out row is evaluation enough.
    const recipe = (paddingFree: boolean) =>
      RECIPE("torch")
        .replace(
          "training: {max_steps: 10, batch_size: 8,",
          `training: {padding_free: ${paddingFree}, max_steps: 6, batch_size: 4, gradient_accumulation: 2,`,
        )
        .replace(`max_new_tokens: ${MAX_NEW_TOKENS}`, "max_new_tokens: 1");
    const dir = tempDir({
      "free.yaml": recipe(true),
      "padded.yaml": recipe(false),
      "stories.jsonl": STORY_ROWS.map((row) => JSON.stringify(row)).join("\n") + "\n",
    });
    cpSync(STORIES, join(dir, "stories260K"), { recursive: true });
    const env = { TUNE_CACHE_DIR: testCache(dir) };
    const steps = async (recipeFile: string) => {
      const run = await tune(["recipe", recipeFile, "--out", recipeFile.replace(".yaml", ""), "--json"], {
        cwd: dir,
        env,
      });
      expect(run.exitCode, run.stderr).toBe(0);
      const events = run.stdout
        .trim()
        .split("\n")
        .map(
          (line) => JSON.parse(line) as Event & { speed?: Record<string, unknown>; loss?: number; grad_norm?: number },
        );
      return { speed: events[0]?.speed, steps: events.filter((e) => e.type === "step") };
    };
    const [free, padded] = [await steps("free.yaml"), await steps("padded.yaml")];
    expect(free.speed).toMatchObject({ padding_free: true, lean_loss: true, compile: false });
    expect(padded.speed).toMatchObject({ padding_free: false });
    expect(free.steps).toHaveLength(6);
    free.steps.forEach((step, i) => {
      const other = padded.steps[i];
      expect(step.loss).toBeCloseTo(other?.loss as number, 5);
      expect(step.grad_norm as number).toBeGreaterThan(0);
      expect(Math.abs((step.grad_norm as number) / (other?.grad_norm as number) - 1)).toBeLessThan(1e-4);
    });
  }, 120_000);
});
