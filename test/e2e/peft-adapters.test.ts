import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openModelWeights, openSafetensors } from "../../src/adapter/index.js";
import { hasStackTrace, ROOT, tune } from "../support/cli.js";
import { startFakeHub, type FakeHub } from "../support/hub-server.js";
import { referencePython } from "../support/reference-python.js";
import { testCache } from "../support/test-cache.js";

const TEXTS = ["Lily went to the park.", "Tom saw a big dog and ran home", "Sue had a red hat."];
const PROMPT = "Once upon a time";
const MAX_NEW = 8;
const TOKEN = "hf_peft_adapters_test";

/**
 * PEFT itself writes two adapters on stories260K: a classifier (LoRA with a rank per module, its
 * head under modules_to_save) and a causal LM (rsLoRA), with B and the head drawn at random so
 * they change the outputs. It prints what PEFT computes with them: class probabilities, the
 * greedy reply, and (saved beside them) the classifier merged by merge_and_unload.
 */
const WRITE_ADAPTERS = `
import json, sys, torch
from pathlib import Path
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
base_dir, out, texts, prompt, max_new = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4], int(sys.argv[5])
tok = AutoTokenizer.from_pretrained(base_dir)
def randomize(model, seed, scale):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=g) * scale)
result = {}
base = AutoModelForSequenceClassification.from_pretrained(base_dir, num_labels=2, pad_token_id=0, dtype=torch.float32)
cls = get_peft_model(base, LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], rank_pattern={"v_proj": 2}, lora_dropout=0.0))
randomize(cls, 1, 0.1)
cls.save_pretrained(out / "cls")
cls.eval()
with torch.no_grad():
    result["probs"] = [cls(**tok(t, return_tensors="pt")).logits.softmax(-1)[0].tolist() for t in texts]
    merged = cls.merge_and_unload()
    save_file({k: v.contiguous() for k, v in merged.state_dict().items()}, str(out / "peft-merged.safetensors"))
lm = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
gen = get_peft_model(lm, LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], use_rslora=True, lora_dropout=0.0))
randomize(gen, 2, 0.02)
gen.save_pretrained(out / "gen")
gen.eval()
ids = tok(prompt, return_tensors="pt").input_ids
with torch.no_grad():
    new = gen.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new, do_sample=False, pad_token_id=0)[0, ids.shape[1]:].tolist()
if tok.eos_token_id in new: new = new[: new.index(tok.eos_token_id)]
result["reply"] = tok.decode(new).strip()
print(json.dumps(result))
`;

let work: string;
let env: Record<string, string>;
let hub: FakeHub;
let reference: { probs: number[][]; reply: string };

beforeAll(async () => {
  // Shared by the tests of this file (tempDir folders go after each test).
  work = mkdtempSync(join(tmpdir(), "tune-peft-"));
  cpSync(join(ROOT, "test/models/stories260K"), join(work, "base"), { recursive: true });
  const python = await execa(
    referencePython,
    [
      "-W",
      "ignore",
      "-c",
      WRITE_ADAPTERS,
      join(work, "base"),
      join(work, "peft"),
      JSON.stringify(TEXTS),
      PROMPT,
      String(MAX_NEW),
    ],
    { reject: false },
  );
  if (python.exitCode !== 0) throw new Error(python.stderr);
  reference = JSON.parse(python.stdout.trim().split("\n").at(-1) as string) as typeof reference;
  writeFileSync(
    join(work, "rows.csv"),
    `text,label\n${TEXTS.map((t, i) => `${t},${i % 2 ? "bad" : "good"}`).join("\n")}\n`,
  );
  writeFileSync(join(work, "stories.jsonl"), `${TEXTS.map((text) => JSON.stringify({ text })).join("\n")}\n`);
  const classifier = (engine: string) =>
    `task: sequence-classification\nengine: ${engine}\nmodel: {base: ./base}\ndata: {train: rows.csv, test: rows.csv, labels: [good, bad]}\n`;
  writeFileSync(join(work, "cls-tfjs.yaml"), classifier("tfjs"));
  writeFileSync(join(work, "cls-auto.yaml"), classifier("auto"));
  hub = await startFakeHub();
  hub.tokens.set(TOKEN, "tester");
  const files = ["adapter_config.json", "adapter_model.safetensors", "README.md"];
  hub.addRepo(
    "peft-user/story-cls",
    Object.fromEntries(files.map((f) => [f, readFileSync(join(work, "peft/cls", f))])),
  );
  env = {
    TUNE_CACHE_DIR: testCache(work),
    HF_ENDPOINT: hub.url,
    HF_TOKEN: TOKEN,
    HF_HUB_CACHE: join(work, "hf-cache"),
    TUNE_HUB_BACKOFF_MS: "5",
  };
}, 120_000);

afterAll(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});

function expectProbs(rows: Array<Record<string, number>>): void {
  rows.forEach((probs, i) => {
    expect(probs.good).toBeCloseTo(reference.probs[i]?.[0] as number, 5);
    expect(probs.bad).toBeCloseTo(reference.probs[i]?.[1] as number, 5);
  });
}

describe("adapters PEFT wrote", () => {
  it("a classifier folder is predicted on the tfjs engine and merged with PEFT's numbers", async () => {
    const predicted = await tune(
      ["predict", "peft/cls", "--recipe", "cls-tfjs.yaml", "--in", "rows.csv", "--out", "out.jsonl"],
      { cwd: work, env },
    );
    expect(predicted.exitCode, predicted.stderr).toBe(0);
    const rows = readFileSync(join(work, "out.jsonl"), "utf8").trim().split("\n");
    expectProbs(rows.map((line) => (JSON.parse(line) as { probs: Record<string, number> }).probs));

    const merged = await tune(
      ["merge", "peft/cls", "--recipe", "cls-tfjs.yaml", "--out", "merged", "--dtype", "fp32"],
      {
        cwd: work,
        env,
      },
    );
    expect(merged.exitCode, merged.stderr).toBe(0);
    const ours = openModelWeights(join(work, "merged"));
    const theirs = openSafetensors(join(work, "peft/peft-merged.safetensors"));
    for (const name of theirs.tensors.keys()) {
      const a = ours.readFloat32(name);
      const b = theirs.readFloat32(name);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
      expect(worst, name).toBeLessThan(1e-5);
    }
    expect(
      (JSON.parse(readFileSync(join(work, "merged/config.json"), "utf8")) as { id2label: unknown }).id2label,
    ).toEqual({ "0": "good", "1": "bad" });
    ours.close();
    theirs.close();
  }, 60_000);

  it("a rank or alpha pattern that backtracks without end over a module name is refused, exit 2, naming it", async () => {
    // Over model.layers.0.self_attn.v_proj this key tries every way to split every word.
    const key = "((\\w+)+\\.?)*Z";
    const hostile = (folder: string, field: string) => {
      cpSync(join(work, "peft/cls"), join(work, folder), { recursive: true });
      const file = join(work, folder, "adapter_config.json");
      const config = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
      writeFileSync(file, JSON.stringify({ ...config, [field]: { [key]: 2, v_proj: 2 } }));
    };
    hostile("slow-rank", "rank_pattern");
    hostile("slow-alpha", "alpha_pattern");
    // Predicting checks the ranks against the base model; merging scales each module by its alpha.
    const calls: Array<[string, string[]]> = [
      ["rank_pattern", ["predict", "slow-rank", "--recipe", "cls-tfjs.yaml", "--in", "rows.csv", "--out", "p.jsonl"]],
      ["alpha_pattern", ["merge", "slow-alpha", "--recipe", "cls-tfjs.yaml", "--out", "slow-merged"]],
    ];
    for (const [field, args] of calls) {
      const refused = await tune(args, { cwd: work, env });
      expect(refused.exitCode, refused.stderr).toBe(2);
      expect(refused.stderr).toContain(
        `adapter_config.json's ${field} key ${JSON.stringify(key)} did not finish matching the module names within 1 s`,
      );
      expect(hasStackTrace(refused.stderr)).toBe(false);
    }
    expect(existsSync(join(work, "p.jsonl"))).toBe(false);
    expect(existsSync(join(work, "slow-merged"))).toBe(false);
  }, 60_000);

  it("a classifier served by a Hub is evaluated by id (torch engine where it runs) and pushed", async () => {
    const evaluated = await tune(
      ["eval", "peft-user/story-cls@main", "--recipe", "cls-auto.yaml", "--out", "story-eval", "--json"],
      { cwd: work, env },
    );
    expect(evaluated.exitCode, evaluated.stderr).toBe(0);
    const predictions = readFileSync(join(work, "story-eval/predictions/test.jsonl"), "utf8").trim().split("\n");
    expectProbs(predictions.map((line) => (JSON.parse(line) as { probs: Record<string, number> }).probs));
    const plan = JSON.parse(readFileSync(join(work, "story-eval/plan.json"), "utf8")) as {
      adapter: { source: string; id: string; commit: string };
    };
    expect(plan.adapter).toMatchObject({ source: "hub", id: "peft-user/story-cls" });
    expect(plan.adapter.commit).toBe(hub.repos.get("peft-user/story-cls")?.branches.get("main"));

    const pushed = await tune(["push", "peft-user/story-cls", "--repo", "tester/story-cls-copy", "--json"], {
      cwd: work,
      env,
    });
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    const copy = hub.head("tester/story-cls-copy");
    expect([...copy.keys()]).toEqual(
      expect.arrayContaining(["README.md", "adapter_config.json", "adapter_model.safetensors"]),
    );
    expect(copy.get("adapter_model.safetensors")?.bytes).toEqual(
      readFileSync(join(work, "peft/cls/adapter_model.safetensors")),
    );
  }, 90_000);

  it("a causal adapter chats on the tfjs engine as PEFT generates, and training continues from it", async () => {
    writeFileSync(
      join(work, "lm.yaml"),
      `name: continued\ntask: causal-lm\nengine: tfjs\nmodel: {base: ./base, adapter: peft/gen}\nlora: {r: 4, dropout: 0}\ndata: {train: stories.jsonl, max_length: 32}\ntemplate: {prompt: "Story:", completion: "{text}"}\ngeneration: {max_new_tokens: ${MAX_NEW}}\ntraining: {max_steps: 1, batch_size: 3, lr: 1e-12}\n`,
    );
    const chat = await tune(["chat", "peft/gen", "--recipe", "lm.yaml", "--prompt", PROMPT, "--json"], {
      cwd: work,
      env,
    });
    expect(chat.exitCode, chat.stderr).toBe(0);
    expect((JSON.parse(chat.stdout.trim()) as { reply: string }).reply).toBe(reference.reply);

    // With a vanishing learning rate, the one step's checkpoint is the adapter it started from.
    const run = await tune(["recipe", "lm.yaml"], { cwd: work, env });
    expect(run.exitCode, run.stderr).toBe(0);
    const started = openSafetensors(join(work, "peft/gen/adapter_model.safetensors"));
    const trained = openSafetensors(join(work, "adapters/continued/checkpoint-1/adapter_model.safetensors"));
    expect([...trained.tensors.keys()].sort()).toEqual([...started.tensors.keys()].sort());
    for (const name of started.tensors.keys()) {
      const a = started.readFloat32(name);
      const b = trained.readFloat32(name);
      for (let i = 0; i < a.length; i += 7) expect(b[i]).toBeCloseTo(a[i] as number, 6);
    }
    started.close();
    trained.close();
    const merged = await tune(["merge", "adapters/continued", "--out", "continued-merged"], { cwd: work, env });
    expect(merged.exitCode, merged.stderr).toBe(0);
    expect(readFileSync(join(work, "continued-merged/README.md"), "utf8")).toContain(
      "Training continued from a local adapter (`gen`",
    );
  }, 90_000);
});
