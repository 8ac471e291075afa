import { extname } from "node:path";
import { loraFromAdapter } from "../adapter/index.js";
import { ExitCode, TuneError, type Problem } from "../errors/index.js";
import { downloadAdapter, type DownloadProgress } from "../hub/index.js";
import {
  fieldOnlyLocator,
  loadModuleRecipe,
  parseYamlSource,
  type LoadedRecipe,
  type Locator,
  type RunPlan,
} from "../recipe/index.js";
import { adapterRef } from "./adapter-ref.js";
import { adapterSha256, readForeignAdapter } from "./open-target.js";

/** The recipe's `lora` keys an adapter decides, by the adapter_config.json field they must equal. */
const SHAPE_KEYS: Array<[keyof RunPlan["lora"], string]> = [
  ["r", "r"],
  ["alpha", "lora_alpha"],
  ["target_modules", "target_modules"],
  ["modules_to_save", "modules_to_save"],
  ["bias", "bias"],
  ["rslora", "use_rslora"],
  ["dora", "use_dora"],
];

/** The recipe as written (defaults not filled in) and where each value is, to tell a choice from a default. */
async function writtenRecipe(loaded: LoadedRecipe): Promise<{ raw: unknown; locator: Locator }> {
  if ([".yaml", ".yml", ".json"].includes(extname(loaded.file).toLowerCase())) {
    const source = parseYamlSource(loaded.sourceText, loaded.file);
    return { raw: source.value, locator: source };
  }
  return { raw: await loadModuleRecipe(loaded.file), locator: fieldOnlyLocator(loaded.file) };
}

function written(raw: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>(
    (value, key) => (value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined),
    raw,
  );
}

function sameValue(a: unknown, b: unknown): boolean {
  const normal = (value: unknown) => (Array.isArray(value) ? JSON.stringify([...value].sort()) : JSON.stringify(value));
  return normal(a) === normal(b);
}

/**
 * A plan whose training starts from `model.adapter` (a folder or a Hub adapter): its LoRA shape
 * is the adapter's (r, alpha, rsLoRA, DoRA, bias, modules), and a `lora:` key the recipe writes
 * that disagrees is an error at its line; `lora.dropout` stays the recipe's, since it shapes
 * training, not the adapter. The adapter's identity (its folder or Hub id and commit, and the
 * sha256 of its files) goes into the plan, so a run is never resumed on a changed adapter.
 */
export async function planFromAdapter(
  loaded: LoadedRecipe,
  plan: RunPlan,
  onDownload?: (progress: DownloadProgress) => void,
): Promise<RunPlan> {
  const value = plan.model.adapter;
  if (value === undefined) return plan;
  const { raw, locator } = await writtenRecipe(loaded);
  const ref = adapterRef(value, loaded.baseDir, `${loaded.file}: model.adapter`);
  const hub = ref.kind === "hub" ? await downloadAdapter(ref.id, ref.revision, { onProgress: onDownload }) : null;
  const dir = hub ? hub.dir : (ref as { path: string }).path;
  const adapter = readForeignAdapter(dir, "run", plan.task);
  const problems: Problem[] = [];
  const located = (path: string[], message: string, hint: string, field = path.join(".")) =>
    problems.push({ code: "recipe-adapter-mismatch", message, field, location: locator.locateValue(path), hint });
  for (const field of ["rank_pattern", "alpha_pattern"] as const) {
    if (Object.keys(adapter.config[field] ?? {}).length > 0)
      located(
        ["model", "adapter"],
        `model.adapter: ${dir} sets ${field}, a rank or alpha per module, which training does not continue`,
        "Continue from an adapter with one rank and alpha, or evaluate this one with `tune eval --recipe`.",
      );
  }
  const lora = { ...loraFromAdapter(adapter.config, adapter.modules, plan.lora.task_type), dropout: plan.lora.dropout };
  for (const [key, field] of SHAPE_KEYS) {
    const mine = written(raw, ["lora", key]);
    const theirs = key === "target_modules" ? adapter.config.target_modules : lora[key];
    if (mine !== undefined && !sameValue(mine, theirs) && !sameValue(mine, lora[key]))
      located(
        ["lora", key],
        `lora.${key} is ${JSON.stringify(mine)}, but model.adapter has ${field} ${JSON.stringify(theirs)}`,
        "Training continues the adapter with its own shape: remove this key (or make it equal the adapter's).",
      );
  }
  if (problems.length > 0) throw new TuneError(problems, ExitCode.user);
  const identity = hub
    ? {
        source: "hub" as const,
        id: (ref as { id: string }).id,
        revision: (ref as { revision: string }).revision,
        commit: hub.commit,
      }
    : { source: "local" as const };
  return {
    ...plan,
    model: { ...plan.model, adapter_source: { ...identity, dir, sha256: adapterSha256(dir) } },
    lora,
  };
}
