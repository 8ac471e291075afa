import { readFileSync } from "node:fs";
import type { z } from "zod";
import { ExitCode, TuneError } from "../errors/index.js";

/**
 * Reads one of tune's own state files (plan.json, best.json, metrics.json, run.lock, a manifest)
 * as untrusted input: a file that is torn, empty, not JSON or not the expected shape is a
 * TuneError naming it and what to do, never a crash. The schema only checks: the value comes
 * back as read (key order included, which hashes of it depend on). Returns undefined when the
 * file does not exist.
 */
export function readStateFile<T>(file: string, schema: z.ZodType<T>, hint: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw damaged(
      file,
      code === "EISDIR" ? "it is a folder" : `it cannot be read (${code ?? (error as Error).message})`,
      hint,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw damaged(file, text.trim() === "" ? "it is empty" : "it is not valid JSON (torn by a crash, or edited)", hint);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw damaged(
      file,
      `${issue?.path.join(".") || "its content"} is not what tune writes (${issue?.message ?? "unexpected shape"})`,
      hint,
    );
  }
  return value as T;
}

function damaged(file: string, why: string, hint: string): TuneError {
  return TuneError.single(
    { code: "state-file-damaged", message: `${file} is damaged: ${why}`, location: { file }, hint },
    ExitCode.user,
  );
}
