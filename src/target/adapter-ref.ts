import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ExitCode, TuneError } from "../errors/index.js";
import { hubIdProblem, revisionProblem } from "../recipe/index.js";

/** What a verb or `model.adapter` names: a local folder, or a Hub repo at a revision. */
export type AdapterRef = { kind: "local"; path: string } | { kind: "hub"; id: string; revision: string };

const PATH_LIKE = /^(\.{1,2}([/\\]|$)|[/\\~])/;

function refError(message: string, hint: string, where: string): TuneError {
  return TuneError.single({ code: "adapter-ref-invalid", message, hint, location: { file: where } }, ExitCode.user);
}

/**
 * Reads `value` as an adapter reference: a path that exists (or looks like one) is local, so a
 * folder named like a Hub id wins over the Hub; otherwise `owner/name` or `owner/name@revision`
 * is a Hub repo, at `revision` (the `--revision` flag, or `model.adapter`'s own) when the value
 * names none. `where` says where the value came from (a flag, a recipe field) for messages.
 */
export function adapterRef(value: string, baseDir: string, where: string, revision?: string): AdapterRef {
  const local = resolve(baseDir, value);
  if (existsSync(local) || PATH_LIKE.test(value)) {
    if (revision !== undefined)
      throw refError(
        `${value} is a local folder, which has no revision`,
        "Drop the revision, or name a Hub id.",
        where,
      );
    return { kind: "local", path: local };
  }
  const at = value.lastIndexOf("@");
  const id = at > 0 ? value.slice(0, at) : value;
  const named = at > 0 ? value.slice(at + 1) : undefined;
  if (named !== undefined && revision !== undefined && named !== revision)
    throw refError(
      `${value} names revision ${named}, and ${revision} is asked for too`,
      "Give the revision once: `owner/name@revision` or --revision.",
      where,
    );
  const idProblem = hubIdProblem(id);
  if (idProblem || !id.includes("/"))
    throw refError(
      `${value} is neither a folder here nor a Hub id (owner/name)${idProblem ? `: ${idProblem}` : ""}`,
      "Pass the adapter's folder (with adapter_config.json), or its Hub id as owner/name[@revision].",
      where,
    );
  const rev = named ?? revision ?? "main";
  const revProblem = revisionProblem(rev);
  if (revProblem) throw refError(`revision ${rev}: ${revProblem}`, "Name a branch, tag or commit.", where);
  return { kind: "hub", id, revision: rev };
}
