import { accessSync, constants, existsSync } from "node:fs";
import { dirname } from "node:path";
import { ExitCode } from "./exit-codes.js";
import { TuneError } from "./tune-error.js";

/** Failures of the machine's file systems, as opposed to tune's own mistakes. */
const WHY: Record<string, string> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is exhausted",
  EROFS: "the file system is read-only",
  EACCES: "permission was denied",
  EPERM: "permission was denied",
  ENOTDIR: "a file is in the way of a folder",
  EEXIST: "a file is in the way of a folder",
  EISDIR: "a folder is in the way of a file",
  EIO: "the disk reported an input/output error",
  EMFILE: "too many files are open",
  ENFILE: "too many files are open",
  ENAMETOOLONG: "a path is too long for the file system",
  ELOOP: "a path has a symbolic link loop",
};

export interface FileSystemContext {
  /** The folder being written, named in the message (else the failing path). */
  folder?: string;
  /** What was being done, e.g. "write the run directory". */
  doing?: string;
  /** Said first in the hint, e.g. which checkpoint is intact. */
  intact?: string;
  /** What to do, after freeing space or fixing permissions. */
  then?: string;
}

/**
 * A recursive mkdir under a folder it cannot write reports ENOENT (Node's quirk), not why: the
 * nearest folder that exists is asked instead.
 */
function realCause(error: NodeJS.ErrnoException | undefined): NodeJS.ErrnoException | undefined {
  if (error?.code !== "ENOENT" || error.syscall !== "mkdir" || !error.path) return error;
  let dir = dirname(error.path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    accessSync(dir, constants.W_OK);
    return error;
  } catch (cause) {
    return cause as NodeJS.ErrnoException;
  }
}

/**
 * The one translation of a failed file-system call into a message: which folder, why (full,
 * read-only, no permission...), what is intact and what to do; exit 4. Anything that is not a
 * file-system failure is returned unchanged.
 */
export function fileSystemFailure(error: unknown, context: FileSystemContext = {}): unknown {
  const failed = realCause(error as NodeJS.ErrnoException | undefined);
  const refused =
    failed?.code === "ENOENT" &&
    (failed.syscall === "mkdir" || failed.syscall === "creat") &&
    failed.path !== undefined &&
    existsSync(dirname(failed.path));
  const why = refused
    ? `the file system does not allow a new ${failed.syscall === "mkdir" ? "folder" : "file"} there`
    : failed?.code
      ? WHY[failed.code]
      : undefined;
  if (!why || error instanceof TuneError) return error;
  const where = context.folder ?? failed?.path ?? "a file";
  return TuneError.single(
    {
      code: "file-system",
      message:
        `cannot ${context.doing ?? "use"} ${where}: ${why} (${failed?.syscall ?? "file access"} ${failed?.path ?? ""})`.replace(
          / \)$/,
          ")",
        ),
      location: { file: where },
      hint: `${context.intact ? `${context.intact} ` : ""}Free space, fix permissions or move what is in the way${context.then ? `, then ${context.then}` : ""}.`,
    },
    ExitCode.environment,
  );
}
