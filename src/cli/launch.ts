import { basename, join, posix, resolve } from "node:path";
import { Option, type Command } from "commander";
import { redactSecrets, TuneError } from "../errors/index.js";
import type { LaunchFile } from "../launch/index.js";
import type { LoadedRecipe } from "../recipe/index.js";
import type { CliContext } from "./context.js";

interface LaunchFlags {
  print: "slurm" | "kubernetes";
  out?: string;
  hfHome?: string;
  image?: string;
  claim: string;
  mount: string;
  recipePath?: string;
  secret: string;
  secretKey: string;
}

export function registerLaunch(program: Command, context: CliContext): void {
  program
    .command("launch")
    .description("print an sbatch script or a Kubeflow PyTorchJob manifest that runs a recipe on its distributed.nodes")
    .argument("<recipe>", "recipe file (.yaml, .yml, .json, .ts, .mts, .js, .mjs)")
    .addOption(
      new Option("--print <format>", "what to print: an sbatch script or a PyTorchJob manifest")
        .choices(["slurm", "kubernetes"])
        .makeOptionMandatory(),
    )
    .option(
      "--out <root>",
      "output root every node sees; default: adapters (slurm, made absolute here), <mount>/adapters (kubernetes)",
    )
    .option("--hf-home <dir>", "HF_HOME on shared storage; default <out>/.hf-home")
    .option("--image <ref>", "kubernetes: the container image with tune installed (required)")
    .option("--claim <name>", "kubernetes: the ReadWriteMany PersistentVolumeClaim the pods share", "tune-shared")
    .option("--mount <dir>", "kubernetes: where the claim is mounted in each pod", "/shared")
    .option("--recipe-path <path>", "kubernetes: the recipe in the pod; default <mount>/<recipe's file name>")
    .option("--secret <name>", "kubernetes: the Secret holding HF_TOKEN", "hf-token")
    .option("--secret-key <key>", "kubernetes: the Secret's key holding the token", "token")
    .action(async (file: string, flags: LaunchFlags) => {
      const { loadRecipe } = await import("../recipe/index.js");
      // The same checks as `tune validate` before any data is read: schema, rules across fields, files.
      const loaded = await loadRecipe(file);
      const launch = flags.print === "slurm" ? await slurm(loaded, flags) : await kubernetes(loaded, flags);
      // Output hides credential-shaped text; a path such as /data/hf_datasets would be rewritten and
      // the job would run another one, so such a file is refused rather than printed changed.
      if (redactSecrets(launch.text) !== launch.text)
        throw TuneError.single({
          code: "launch-looks-like-secret",
          message:
            "a path or name in the launch file looks like a credential (hf_..., or user:password@ in an address), which tune never prints",
          hint: "Rename the folder or file, or pass paths without it (--out, --hf-home, --recipe-path).",
        });
      for (const warning of launch.warnings) context.output.err(`warning: ${warning}`);
      context.output.out(launch.text.trimEnd());
    });
}

async function slurm({ recipe, file }: LoadedRecipe, flags: LaunchFlags): Promise<LaunchFile> {
  const { slurmScript } = await import("../launch/index.js");
  const out = resolve(flags.out ?? "adapters");
  const hfHome = resolve(flags.hfHome ?? join(out, ".hf-home"));
  return slurmScript({ recipe, recipeFile: file, out, hfHome, workDir: process.cwd() });
}

async function kubernetes({ recipe, file }: LoadedRecipe, flags: LaunchFlags): Promise<LaunchFile> {
  // No tune image is published, and a placeholder would pass kubectl and fail only when the pods pull it.
  if (flags.image === undefined)
    throw TuneError.single({
      code: "launch-image-missing",
      message: "is required with --print kubernetes: the container image every pod runs",
      location: { file: "--image" },
      hint: "Build one with tune installed (`npm ci`, `npx tune setup python`) and pass it, e.g. --image registry.example.org/team/tune:1.0.",
    });
  const { pytorchJob } = await import("../launch/index.js");
  const out = flags.out ?? posix.join(flags.mount, "adapters");
  return pytorchJob({
    recipe,
    recipeFile: flags.recipePath ?? posix.join(flags.mount, basename(file)),
    out,
    hfHome: flags.hfHome ?? posix.join(out, ".hf-home"),
    image: flags.image,
    claim: flags.claim,
    mount: flags.mount,
    secret: { name: flags.secret, key: flags.secretKey },
  });
}
