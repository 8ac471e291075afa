import type { Command } from "commander";
import { ExitCode, TuneError } from "../errors/index.js";

interface PlannedVerb {
  name: string;
  args: string[];
  description: string;
  options: Array<[flags: string, description: string]>;
}

/**
 * Verbs whose names and flags are fixed (scripts may rely on them) but whose behaviour is not
 * part of this version: they say so and exit with code 4 rather than pretending to work.
 */
const PLANNED: PlannedVerb[] = [
  {
    name: "chat",
    args: ["<checkpoint>"],
    description: "talk to a chat fine-tune in the terminal",
    options: [["--prompt <text>", "answer one prompt and exit"]],
  },
];

export function registerPlannedVerbs(program: Command): void {
  for (const verb of PLANNED) {
    const command = program.command(verb.name).description(`${verb.description} (not available yet)`);
    for (const arg of verb.args) command.argument(arg);
    for (const [flags, description] of verb.options) command.option(flags, description);
    command.action(() => {
      throw TuneError.single(
        {
          code: "verb-not-available",
          message: `\`tune ${verb.name}\` is not available in this version of tune yet`,
          hint: "Its name and flags are reserved; `tune --help` marks the verbs that work.",
        },
        ExitCode.environment,
      );
    });
  }
}
