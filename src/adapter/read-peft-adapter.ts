import { existsSync } from "node:fs";
import { join } from "node:path";
import { ExitCode, TuneError } from "../errors/index.js";
import { readAdapterConfig, type PeftConfig } from "./adapter-config.js";
import { patternValues } from "./pattern-values.js";
import { openSafetensors, type SafetensorsFile } from "./safetensors/index.js";

/** The adapter_config.json keys a merge reads (PEFT's LoraConfig names). */
export interface LoraPair {
  /** Tensor names in adapter_model.safetensors. */
  a: string;
  b: string;
  /** DoRA's magnitude vector, one value per output feature. */
  magnitude?: string;
  rank: number;
  /** alpha / r, or alpha / sqrt(r) with rsLoRA, as PEFT scales. */
  scale: number;
}

export interface PeftAdapter {
  dir: string;
  config: PeftConfig;
  file: SafetensorsFile;
  /** LoRA pairs by module name, e.g. model.layers.0.self_attn.q_proj. */
  lora: Map<string, LoraPair>;
  /** Tensors the adapter holds whole (modules_to_save heads, trained biases) by model weight name → adapter tensor name. */
  whole: Map<string, string>;
  close(): void;
}

const PREFIX = "base_model.model.";

function notAdapter(dir: string, why: string, hint: string): TuneError {
  return TuneError.single(
    {
      code: "adapter-invalid",
      message: `${dir} is not a LoRA adapter tune can merge: ${why}`,
      location: { file: dir },
      hint,
    },
    ExitCode.user,
  );
}

/** Opens a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) and pairs its tensors by module. */
export function readPeftAdapter(dir: string): PeftAdapter {
  const configFile = join(dir, "adapter_config.json");
  const weightsFile = join(dir, "adapter_model.safetensors");
  if (!existsSync(configFile) || !existsSync(weightsFile)) {
    throw notAdapter(
      dir,
      `it has no ${existsSync(configFile) ? "adapter_model.safetensors" : "adapter_config.json"}`,
      "Pass a checkpoint folder (adapters/<run>/checkpoint-<step>) or a folder saved with PeftModel.save_pretrained.",
    );
  }
  const config = readAdapterConfig(dir);
  if (config.peft_type !== "LORA")
    throw notAdapter(
      dir,
      `peft_type is ${String(config.peft_type)}`,
      "Only LoRA adapters (and DoRA, rsLoRA) merge into plain weights.",
    );
  const file = openSafetensors(weightsFile);
  const parts = new Map<string, Partial<Record<"a" | "b" | "magnitude", string>>>();
  const whole = new Map<string, string>();
  for (const name of file.tensors.keys()) {
    const local = name.startsWith(PREFIX) ? name.slice(PREFIX.length) : name;
    const match = /^(.+)\.(lora_A\.weight|lora_B\.weight|lora_magnitude_vector(?:\.weight)?)$/.exec(local);
    if (match) {
      const entry = parts.get(match[1] as string) ?? {};
      entry[match[2]?.startsWith("lora_A") ? "a" : match[2]?.startsWith("lora_B") ? "b" : "magnitude"] = name;
      parts.set(match[1] as string, entry);
    } else if (/\.lora_(embedding_[AB]|[AB])\b/.test(local)) {
      file.close();
      throw notAdapter(
        dir,
        `${name} is a LoRA on an embedding or convolution layer`,
        "tune merges LoRA on linear layers; merge this adapter with PEFT's merge_and_unload().",
      );
    } else whole.set(local, name);
  }
  const alphas = patternValues(config.alpha_pattern, "alpha_pattern", [...parts.keys()]);
  if (typeof alphas === "string") {
    file.close();
    throw notAdapter(dir, alphas, "Save the adapter again with PEFT, with alpha_pattern keys that name modules.");
  }
  const lora = new Map<string, LoraPair>();
  for (const [module, { a, b, magnitude }] of parts) {
    if (!a || !b) {
      file.close();
      throw notAdapter(
        dir,
        `module ${module} has lora_${a ? "A" : "B"} but no lora_${a ? "B" : "A"}`,
        "The adapter file is incomplete; save it again.",
      );
    }
    const rank = file.tensors.get(a)?.shape[0] as number;
    const alpha = alphas.get(module) ?? config.lora_alpha;
    lora.set(module, { a, b, magnitude, rank, scale: config.use_rslora ? alpha / Math.sqrt(rank) : alpha / rank });
  }
  return { dir, config, file, lora, whole, close: () => file.close() };
}
