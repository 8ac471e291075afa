import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { ExitCode, TuneError } from "../errors/index.js";
import { makeFolders } from "../files/index.js";

export const LOCK_FILE = "run.lock";

/** Who holds a run: enough to tell, on the same machine, whether that process still exists. */
export interface LockOwner {
  pid: number;
  host: string;
  started: string;
  /** The process's start time in clock ticks since boot (Linux), so a reused pid is not mistaken for the owner. */
  since: number | null;
}

const OwnerShape = z.object({
  pid: z.number().int().positive(),
  host: z.string(),
  started: z.string(),
  since: z.number().nullable().default(null),
});

/** /proc/<pid>/stat's starttime, or null where there is no /proc (or no such process). */
function processSince(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses; fields after it are plain.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const value = Number(fields[19]);
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** What a lock file says, or why it says nothing usable (torn, emptied, not tune's). */
export function readLockOwner(runDir: string): LockOwner | { unreadable: string } | undefined {
  let text: string;
  try {
    text = readFileSync(join(runDir, LOCK_FILE), "utf8");
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT" ? undefined : { unreadable: (error as Error).message };
  }
  try {
    const parsed = OwnerShape.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : { unreadable: "it is not what tune writes" };
  } catch {
    return { unreadable: "it is not valid JSON" };
  }
}

/**
 * Whether the lock's process still runs: on this machine, a process with that pid that started
 * when the lock says; on another machine there is no telling, so it is assumed to run.
 */
export function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (!processExists(owner.pid)) return false;
  const since = processSince(owner.pid);
  return owner.since === null || since === null || since === owner.since;
}

export interface RunLock {
  /** Set when a lock left by a process that is gone was taken over: what it said. */
  tookOver: string | null;
  release(): void;
}

function describe(owner: LockOwner): string {
  return `pid ${owner.pid} on ${owner.host}, started ${owner.started}`;
}

/**
 * Makes this process the one writer of a run directory. The lock file is written whole under a
 * temporary name and hard-linked into place, which fails if one exists, so no reader ever sees
 * a half-written lock and two starts cannot both win. A lock whose process is gone (killed,
 * crashed, the machine rebooted) is taken over, one taker at a time; a live one, or one held on
 * another machine, is refused with exit 2 naming the holder.
 */
export function acquireRunLock(runDir: string, what = "run"): RunLock {
  makeFolders(runDir);
  const lock = join(runDir, LOCK_FILE);
  const mine: LockOwner = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    since: processSince(process.pid),
  };
  const temporary = join(runDir, `.${LOCK_FILE}.${process.pid}.tmp`);
  writeWhole(temporary, `${JSON.stringify(mine)}\n`);
  let tookOver: string | null = null;
  try {
    for (let attempt = 0; !linked(temporary, lock); attempt++) {
      const owner = readLockOwner(runDir);
      if (owner === undefined) continue;
      if ("unreadable" in owner) {
        // Locks are linked in whole, so this one was damaged after the fact; a young one may
        // still be another tune's, caught between our two reads.
        if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 5_000)
          throw held(runDir, `an unreadable ${LOCK_FILE} (${owner.unreadable})`, what);
      } else if (ownerAlive(owner)) {
        throw held(runDir, describe(owner), what);
      }
      if (attempt >= 5) throw held(runDir, "another tune taking over its stale lock", what);
      if (takeOver(runDir, owner))
        tookOver =
          "unreadable" in owner
            ? `a damaged ${LOCK_FILE} (${owner.unreadable})`
            : `${LOCK_FILE} of ${describe(owner)}, which is no longer running`;
    }
  } finally {
    rmSync(temporary, { force: true });
  }
  return {
    tookOver,
    release() {
      const owner = readLockOwner(runDir);
      if (!owner || "unreadable" in owner || owner.pid !== mine.pid || owner.started !== mine.started) return;
      try {
        rmSync(lock, { force: true });
      } catch {
        // A lock that cannot be removed (a read-only disk) is taken over by the next run: its process is gone.
      }
    },
  };
}

/**
 * Removes a stale lock, under a second lock so that two tunes finding the same stale lock do
 * not both remove it (the second would remove the first one's fresh lock). Returns whether this
 * process removed it; the caller tries to link its own again either way.
 */
function takeOver(runDir: string, stale: LockOwner | { unreadable: string }): boolean {
  const guard = join(runDir, `${LOCK_FILE}.takeover`);
  let fd: number;
  try {
    fd = openSync(guard, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    // A taker that died mid-takeover leaves its guard; after a while it is cleared.
    if (Date.now() - (statSync(guard, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 30_000)
      rmSync(guard, { force: true });
    return false;
  }
  try {
    closeSync(fd);
    const now = readLockOwner(runDir);
    if (JSON.stringify(now) !== JSON.stringify(stale)) return false;
    const aside = join(runDir, `.${LOCK_FILE}.stale-${process.pid}`);
    renameSync(join(runDir, LOCK_FILE), aside);
    rmSync(aside, { recursive: true, force: true });
    return true;
  } finally {
    rmSync(guard, { force: true });
  }
}

function held(runDir: string, by: string, what: string): TuneError {
  return TuneError.single(
    {
      code: "run-locked",
      message: `${runDir} is in use by another tune (${by}): one ${what} at a time may write a run`,
      location: { file: join(runDir, LOCK_FILE) },
      hint: `Wait for it to finish (\`tune runs\` shows it running), or stop it; if that process is gone for good (its machine is down), delete ${join(runDir, LOCK_FILE)}.`,
    },
    ExitCode.user,
  );
}

/**
 * Puts the lock in place if none is there: a hard link where the file system has them, else an
 * exclusive create (some network and FUSE file systems refuse links). False when one exists.
 */
function linked(temporary: string, lock: string): boolean {
  try {
    linkSync(temporary, lock);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw error;
  }
  try {
    writeWhole(lock, readFileSync(temporary, "utf8"), "wx");
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

function writeWhole(path: string, text: string, flags = "w"): void {
  const fd = openSync(path, flags);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
