import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { wholeNumber } from "./flag-values.js";
import { ADAPTER_ARGUMENT, BASE_FLAG, REVISION_FLAG } from "./adapter-flags.js";
import type { CliContext } from "./context.js";
import { progressBar } from "./progress.js";

interface ChatFlags {
  recipe?: string;
  base?: string;
  revision?: string;
  prompt?: string;
  system?: string;
  maxNewTokens?: number;
  json?: boolean;
}

export function registerChat(program: Command, context: CliContext): void {
  program
    .command("chat")
    .description("talk to a fine-tuned chat model in the terminal")
    .argument("<checkpoint|adapter>", ADAPTER_ARGUMENT)
    .option(
      "--recipe <file>",
      "for a PEFT adapter: the recipe whose generation settings replies use (default: its defaults)",
    )
    .option("--base <dir|id>", BASE_FLAG)
    .option("--revision <rev>", REVISION_FLAG)
    .option("--prompt <text>", "answer one message and exit")
    .option("--system <text>", "a system message that opens the conversation")
    .option("--max-new-tokens <n>", "longest reply (default: the recipe's generation.max_new_tokens)", wholeNumber(1))
    .option("--json", "print each reply as a JSON line")
    .action(async (target: string, flags: ChatFlags) => {
      const { openChat } = await import("../chat/index.js");
      const progress = progressBar(!flags.json && process.stderr.isTTY === true);
      const session = await openChat(target, {
        system: flags.system,
        recipe: flags.recipe,
        base: flags.base,
        revision: flags.revision,
        maxNewTokens: flags.maxNewTokens,
        onDownload: progress.download,
      });
      progress.stop();
      const answer = async (message: string) => {
        const reply = await session.say(message);
        context.output.out(flags.json ? JSON.stringify({ prompt: message, reply }) : reply);
      };
      try {
        if (flags.prompt !== undefined) {
          await answer(flags.prompt);
          return;
        }
        // Piped input is a script of user messages, one per line; a terminal gets a prompt.
        const terminal = process.stdin.isTTY === true;
        if (terminal)
          context.output.err(
            `chatting with ${target} on the ${session.engine} engine${session.template === "none" ? " (no chat template: each message is sent as it is)" : ""}; Ctrl-D or /exit ends`,
          );
        const lines = createInterface({
          input: process.stdin,
          output: terminal ? process.stderr : undefined,
          terminal,
        });
        if (terminal) lines.setPrompt("you> ");
        if (terminal) lines.prompt();
        for await (const line of lines) {
          const message = line.trim();
          if (message === "/exit") break;
          if (message !== "") await answer(message);
          if (terminal) lines.prompt();
        }
        lines.close();
      } finally {
        await session.close();
      }
    });
}
