import { existsSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { TuneError } from "../errors/index.js";
import type { Task } from "../recipe/index.js";
import { STARTER_TASKS, starterRecipe } from "../recipe/starter-recipe.js";
import type { CliContext } from "./context.js";
import { makeFolders } from "../files/index.js";

const SCHEMA_FILE = fileURLToPath(new URL("../../schema/recipe.schema.json", import.meta.url));

interface InitFlags {
  task: string;
  force?: boolean;
  json?: boolean;
}

export function registerInit(program: Command, context: CliContext): void {
  program
    .command("init")
    .description("write a commented starter recipe (and example data it runs on)")
    .argument("[file]", "where to write the recipe", "recipe.yaml")
    .option("--task <task>", `task of the starter: ${STARTER_TASKS.join(", ")}`, "sequence-classification")
    .option("--force", "overwrite an existing recipe file")
    .option("--json", "print what was written as JSON")
    .action((file: string, flags: InitFlags) => {
      if (!(STARTER_TASKS as readonly string[]).includes(flags.task)) {
        throw TuneError.single({
          code: "init-unknown-task",
          message: `--task: unknown task "${flags.task}"`,
          location: { file: "--task" },
          hint: `Use one of: ${STARTER_TASKS.join(", ")}.`,
        });
      }
      const target = resolve(file);
      if (existsSync(target) && !flags.force) {
        throw TuneError.single({
          code: "init-exists",
          message: `${file} already exists`,
          location: { file },
          hint: "Pick another file name, or pass --force to overwrite it.",
        });
      }
      const schemaRef = relative(dirname(target), SCHEMA_FILE);
      const starter = starterRecipe(flags.task as Task, schemaRef);
      const dataPath = resolve(dirname(target), starter.dataFile);
      const written = [target];
      makeFolders(dirname(target));
      writeFileSync(target, starter.recipe);
      if (!existsSync(dataPath)) {
        makeFolders(dirname(dataPath));
        writeFileSync(dataPath, starter.dataText);
        written.push(dataPath);
      }
      if (flags.json) {
        context.output.json({ recipe: target, written });
        return;
      }
      for (const path of written) context.output.out(`wrote ${relative(process.cwd(), path) || path}`);
      context.output.out(`next: npx tune validate ${file}   then   npx tune recipe ${file}`);
    });
}
