import type { Command } from "commander";
import { ADAPTER_ARGUMENT } from "./adapter-flags.js";
import type { CliContext } from "./context.js";
import { parseDtype } from "./merge.js";
import { transferBar } from "./progress.js";

interface PushFlags {
  repo: string;
  private?: boolean;
  merged?: boolean;
  dtype?: string;
  base?: string;
  recipe?: string;
  revision?: string;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
}

export function registerPush(program: Command, context: CliContext): void {
  program
    .command("push")
    .description("publish an adapter (or merged model) to the Hugging Face Hub with a model card")
    .argument("<checkpoint|adapter>", `${ADAPTER_ARGUMENT} (a Hub adapter's revision as owner/name@rev)`)
    .requiredOption("--repo <id>", "target repo, user/name")
    .option("--private", "create the repo private (an existing repo keeps its visibility)")
    .option("--merged", "push the base model with the adapter merged in")
    .option("--dtype <dtype>", "with --merged: bf16, fp16, fp32 or auto", "auto")
    .option("--base <dir|id>", "with --merged: the full-precision base to merge into")
    .option("--recipe <file>", "for a PEFT adapter: a recipe whose labels name a classifier's classes")
    .option("--revision <branch>", "branch to push to (created from main when missing)", "main")
    .option("--dry-run", "show what would be uploaded, change nothing")
    .option("--force", "push even if the checkpoint failed its gate or validation")
    .option("--json", "print the result as JSON")
    .action(async (target: string, flags: PushFlags) => {
      const { openTarget } = await import("../target/index.js");
      const { pushCheckpoint } = await import("../publish/index.js");
      const located = await openTarget(target, {
        purpose: "publish",
        recipe: flags.recipe,
        base: flags.base,
        allowDamaged: flags.force === true,
      });
      if (located.problem)
        context.output.err(
          `warning: pushing ${located.checkpoint} although it failed validation (--force): ${located.problem}`,
        );
      const live = !flags.json && process.stderr.isTTY === true;
      const upload = transferBar(live, "uploading");
      const merging = transferBar(live, "merging");
      const result = await pushCheckpoint(located, {
        repo: flags.repo,
        private: flags.private === true,
        merged: flags.merged === true,
        dtype: parseDtype(flags.dtype),
        base: flags.base,
        revision: flags.revision,
        dryRun: flags.dryRun === true,
        force: flags.force === true,
        onProgress: upload.update,
        onMergeProgress: (done, total) => merging.update({ file: "", done, total }),
      });
      upload.stop();
      merging.stop();
      if (flags.json) {
        context.output.json({ ok: true, checkpoint: located.checkpoint, dry_run: flags.dryRun === true, ...result });
        return;
      }
      for (const warning of result.warnings) context.output.err(`warning: ${warning}`);
      const what = `${flags.merged ? "merged model" : "adapter"} from ${located.checkpoint}`;
      if (flags.dryRun) {
        context.output.out(
          `dry run: would push the ${what} to ${result.repo}@${result.revision}${result.previous === null ? " (a new repo or branch)" : ""}`,
        );
        context.output.out(`  upload: ${result.uploaded.join(", ") || "nothing"}`);
        if (result.unchanged.length > 0) context.output.out(`  unchanged: ${result.unchanged.join(", ")}`);
        return;
      }
      if (result.confirmedAfter)
        context.output.err(
          `warning: the Hub's answer to the commit was lost (${result.confirmedAfter}); read back, ${result.repo}@${result.revision} holds this push`,
        );
      if (result.commit === null)
        context.output.out(
          `${result.repo}@${result.revision} already has these files: nothing to commit (${result.url})`,
        );
      else
        context.output.out(
          `pushed the ${what} to ${result.url} (commit ${result.commit.slice(0, 12)}: ${result.uploaded.join(", ")}${result.unchanged.length > 0 ? `; unchanged: ${result.unchanged.join(", ")}` : ""})`,
        );
    });
}
