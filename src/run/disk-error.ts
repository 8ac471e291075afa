import { TuneError } from "../errors/index.js";

const DISK_CODES: Record<string, string> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is exhausted",
  EROFS: "the file system is read-only",
  EACCES: "permission was denied",
  EPERM: "permission was denied",
};

/**
 * A failed write while training as a user-facing error: what failed, and that the checkpoint
 * before it is intact (checkpoints are built aside and renamed into place), so freeing space
 * and re-running resumes. Other errors are returned unchanged.
 */
export function diskError(error: unknown, runDir: string, lastGood: string | null): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const why = code ? DISK_CODES[code] : undefined;
  if (!why) return error;
  return TuneError.single({
    code: "run-dir-unwritable",
    message: `cannot write to ${runDir}: ${why} (${(error as Error).message.split("\n")[0]})`,
    location: { file: runDir },
    hint: `${lastGood ? `The last complete checkpoint, ${lastGood}, is intact. ` : ""}Free space or fix permissions, then run the same command again to resume (or use --out elsewhere).`,
  });
}
