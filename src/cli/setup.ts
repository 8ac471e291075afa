import type { Command } from "commander";
import { TuneError } from "../errors/index.js";
import type { CliContext } from "./context.js";

export function registerSetup(program: Command, context: CliContext): void {
  program
    .command("setup")
    .description("set up an optional component (python: the torch engine's environment in python-bridge/.venv)")
    .argument("<component>", "python")
    .option("--python <interpreter>", "the Python to create the venv with", "python3")
    .option("--index-url <url>", "package index for pip (default: the one pip is configured with)")
    .option("--json", "print the result as JSON")
    .action(async (component: string, flags: { python: string; indexUrl?: string; json?: boolean }) => {
      const { setupPython } = await import("../engine/index.js");
      if (component !== "python") {
        throw TuneError.single({
          code: "setup-unknown",
          message: `there is nothing called ${component} to set up`,
          location: { file: "<component>" },
          hint: "Use `tune setup python`.",
        });
      }
      const result = await setupPython({
        python: flags.python,
        indexUrl: flags.indexUrl,
        onLog: flags.json ? undefined : (line) => context.output.err(line),
      });
      if (flags.json) {
        context.output.json(result);
        return;
      }
      const versions = Object.entries(result.packages)
        .map(([name, version]) => `${name} ${version ?? "-"}`)
        .join(", ");
      context.output.out(`torch engine ready: ${result.python} (${versions})`);
    });
}
