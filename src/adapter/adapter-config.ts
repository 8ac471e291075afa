import { join } from "node:path";
import { z } from "zod";
import { readStateFile } from "../files/index.js";
import { ExitCode, TuneError } from "../errors/index.js";

/** adapter_config.json as PEFT writes it: the fields tune reads (the rest passes through). */
export interface PeftConfig {
  peft_type?: string;
  task_type?: string | null;
  base_model_name_or_path?: string | null;
  revision?: string | null;
  r: number;
  lora_alpha: number;
  lora_dropout?: number;
  /** Module names (exact or dotted suffix), or one regular expression matched against whole names. */
  target_modules?: string[] | string | null;
  bias?: string;
  use_rslora?: boolean;
  use_dora?: boolean;
  fan_in_fan_out?: boolean;
  rank_pattern?: Record<string, number>;
  alpha_pattern?: Record<string, number>;
  modules_to_save?: string[] | null;
}

const ConfigShape = z.looseObject({
  peft_type: z.string().optional(),
  task_type: z.string().nullable().optional(),
  base_model_name_or_path: z.string().nullable().optional(),
  revision: z.string().nullable().optional(),
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  lora_dropout: z.number().min(0).lt(1).optional(),
  target_modules: z
    .union([z.array(z.string()), z.string()])
    .nullable()
    .optional(),
  bias: z.string().optional(),
  use_rslora: z.boolean().optional(),
  use_dora: z.boolean().optional(),
  fan_in_fan_out: z.boolean().optional(),
  rank_pattern: z.record(z.string(), z.number().int().positive()).optional(),
  alpha_pattern: z.record(z.string(), z.number()).optional(),
  modules_to_save: z.array(z.string()).nullable().optional(),
});

/**
 * An adapter folder's adapter_config.json, checked: whoever wrote the folder (a tune run, PEFT, a
 * stranger on the Hub), a config that is not JSON or lacks a LoRA's rank and alpha is named, exit 2.
 */
export function readAdapterConfig(dir: string): PeftConfig {
  const file = join(dir, "adapter_config.json");
  const config = readStateFile(
    file,
    ConfigShape,
    "Save the adapter again (PeftModel.save_pretrained writes a complete adapter_config.json).",
  );
  if (!config)
    throw TuneError.single(
      {
        code: "adapter-invalid",
        message: `${dir} has no adapter_config.json`,
        location: { file: dir },
        hint: "Pass a checkpoint folder (adapters/<run>/checkpoint-<step>) or a folder saved with PeftModel.save_pretrained.",
      },
      ExitCode.user,
    );
  return config as PeftConfig;
}
