import { Command, CommanderError } from "commander";
import { ExitCode, fileSystemFailure, isTuneError } from "../errors/index.js";
import { TUNE_VERSION } from "../version.js";
import type { CliContext } from "./context.js";
import { registerChat } from "./chat.js";
import { registerCompare } from "./compare.js";
import { registerDoctor } from "./doctor.js";
import { registerEval } from "./eval.js";
import { registerInit } from "./init.js";
import { registerLaunch } from "./launch.js";
import { registerMerge } from "./merge.js";
import { registerMetrics } from "./metrics.js";
import { formatProblems, processOutput, guardedOutput, type Output } from "./output.js";
import { registerPipeline } from "./pipeline.js";
import { registerPredict } from "./predict.js";
import { registerPrepare } from "./prepare.js";
import { registerPush } from "./push.js";
import { registerRecipe } from "./recipe.js";
import { registerReport } from "./report.js";
import { registerRuns } from "./runs.js";
import { registerSetup } from "./setup.js";
import { registerValidate } from "./validate.js";

const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    unexpected failure (a bug: please report it with the output of TUNE_DEBUG=1)
  2    user error: recipe, data or flags (the message names the file, line and field)
  3    an evaluation gate failed
  4    a required engine or environment is missing
  130  stopped by a signal after saving state`;

/** Runs the CLI and returns the process exit code. */
export async function main(argv: readonly string[], given: Output = processOutput): Promise<number> {
  const output = guardedOutput(given);
  const context: CliContext = { output, exitCode: ExitCode.ok };
  const program = new Command("tune")
    .description("Fine-tune language models with LoRA from a declarative recipe.")
    .version(TUNE_VERSION, "-v, --version")
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.out(s.trimEnd()), writeErr: (s) => output.err(s.trimEnd()) });

  // A verb's module imports only what defining its command needs (commander, flag parsers,
  // types); what the verb does is imported in its action, when it runs. So `tune --help`,
  // `tune validate` or `tune init` never load an engine (test/cli/lazy-engines.test.ts).
  registerRecipe(program, context);
  registerValidate(program, context);
  registerPrepare(program, context);
  registerMetrics(program, context);
  registerEval(program, context);
  registerReport(program, context);
  registerCompare(program, context);
  registerMerge(program, context);
  registerPush(program, context);
  registerPredict(program, context);
  registerPipeline(program, context);
  registerLaunch(program, context);
  registerChat(program, context);
  registerSetup(program, context);
  registerInit(program, context);
  registerDoctor(program, context);
  registerRuns(program, context);
  for (const command of program.commands) command.exitOverride();

  const json = argv.includes("--json");
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return ExitCode.user;
    }
    await program.parseAsync([...argv]);
    return context.exitCode;
  } catch (thrown) {
    // A file system that fails (full, read-only, not writable) is the machine's state, not a bug.
    const error = fileSystemFailure(thrown);
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.user;
    }
    if (isTuneError(error)) {
      if (json) output.json({ ok: false, exit_code: error.exitCode, problems: error.problems });
      else output.err(formatProblems(error.problems, error.exitCode === ExitCode.user));
      return error.exitCode;
    }
    const err = error as Error;
    output.err(`error: unexpected failure: ${err.message}`);
    output.err(
      process.env.TUNE_DEBUG
        ? String(err.stack)
        : "    This is a bug in tune; run again with TUNE_DEBUG=1 for details and report it.",
    );
    return ExitCode.unexpected;
  }
}
