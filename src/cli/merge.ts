import type { Command } from "commander";
import type { MergeDtype } from "../adapter/index.js";
import { ExitCode, TuneError } from "../errors/index.js";
import { ADAPTER_ARGUMENT, REVISION_FLAG } from "./adapter-flags.js";
import type { CliContext } from "./context.js";

interface MergeFlags {
  out: string;
  dtype?: string;
  base?: string;
  recipe?: string;
  revision?: string;
  json?: boolean;
}
import { transferBar } from "./progress.js";

const DTYPES: Record<string, MergeDtype> = {
  auto: "auto",
  bf16: "BF16",
  bfloat16: "BF16",
  fp16: "F16",
  float16: "F16",
  fp32: "F32",
  float32: "F32",
};

/** The --dtype flag as a safetensors dtype; a typo is a user error naming the choices. */
export function parseDtype(value: string | undefined): MergeDtype {
  if (value === undefined) return "auto";
  const dtype = DTYPES[value.toLowerCase()];
  if (!dtype)
    throw TuneError.single(
      {
        code: "flag-invalid",
        message: `--dtype ${value} is not a dtype tune writes`,
        field: "--dtype",
        hint: "Use bf16, fp16, fp32 or auto (the base model's dtype).",
      },
      ExitCode.user,
    );
  return dtype;
}

export function registerMerge(program: Command, context: CliContext): void {
  program
    .command("merge")
    .description("merge an adapter into its base model (streaming, sharded safetensors)")
    .argument("<checkpoint|adapter>", ADAPTER_ARGUMENT)
    .requiredOption("--out <dir>", "folder for the merged model")
    .option("--dtype <dtype>", "bf16, fp16, fp32 or auto (the base's dtype)", "auto")
    .option("--base <dir|id>", "merge into this full-precision base instead of the one the run or adapter names")
    .option("--recipe <file>", "for a PEFT adapter: a recipe whose labels name a classifier's classes")
    .option("--revision <rev>", REVISION_FLAG)
    .option("--json", "print the result as JSON")
    .action(async (target: string, flags: MergeFlags) => {
      const { openTarget } = await import("../target/index.js");
      const { mergeCheckpoint } = await import("../publish/index.js");
      const dtype = parseDtype(flags.dtype);
      const located = await openTarget(target, {
        purpose: "publish",
        recipe: flags.recipe,
        base: flags.base,
        revision: flags.revision,
      });
      const bar = transferBar(!flags.json && process.stderr.isTTY === true, "merging");
      const result = await mergeCheckpoint(located, {
        out: flags.out,
        dtype,
        base: flags.base,
        onProgress: (done, total) => bar.update({ file: "", done, total }),
      });
      bar.stop();
      if (flags.json) {
        context.output.json({ ok: true, checkpoint: located.checkpoint, ...result });
        return;
      }
      for (const warning of result.warnings) context.output.err(`warning: ${warning}`);
      context.output.out(
        `merged ${located.checkpoint} (${result.merged} LoRA modules, ${result.replaced} whole tensors) into ${result.out} as ${result.dtype}`,
      );
      context.output.out(`files: ${result.files.join(", ")}`);
    });
}
