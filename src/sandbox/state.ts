import fs from 'node:fs';
import path from 'node:path';
import { ClusterError, InvalidInput } from '../errors.js';
import type { StoredObject } from './store.js';

/**
 * `egressctl sandbox --state FILE`: the objects the sandbox keeps between runs. The file is checked
 * before anything listens (a state that cannot be read or saved is refused at start, not found out at
 * exit), and every save is atomic: the objects go to a temporary file in the same folder, which is
 * fsynced and then renamed over FILE, so a crash or a full disk mid-save leaves the previous state whole.
 */

/** What `--state` names, checked: the objects saved there before (none when the file does not exist yet). */
export interface StateFile {
  path: string;
  /** Whether FILE existed: a saved state, even an empty one, replaces the scenario. */
  existed: boolean;
  objects: StoredObject[];
}

const fix = (file: string): string => `fix or remove ${file}, or choose another --state`;

/**
 * Reads and checks `file` for `--state`: it must parse as the JSON list of objects that `saveState`
 * writes, and its folder must be writable (a temporary file is created and removed there, the way every
 * save will). Throws InvalidInput (exit 2) with one line naming the file and what to do.
 */
export function openState(file: string): StateFile {
  const dir = path.dirname(file);
  let dirStat: fs.Stats;
  try {
    dirStat = fs.statSync(dir);
  } catch (e) {
    throw new InvalidInput(
      `cannot save the sandbox state to ${file}: the folder ${dir} ${reason(e)}: create it, or choose another --state`,
    );
  }
  if (!dirStat.isDirectory())
    throw new InvalidInput(
      `cannot save the sandbox state to ${file}: ${dir} is not a folder: choose another --state`,
    );
  removeStaleTemps(file);
  const existed = fs.existsSync(file);
  const objects = existed ? readState(file) : [];
  // Probing with a real file is the only check that holds for read-only mounts, ACLs and root alike.
  const probe = tempName(file);
  try {
    fs.closeSync(fs.openSync(probe, 'wx', 0o600));
    fs.rmSync(probe, { force: true });
  } catch (e) {
    throw new InvalidInput(
      `cannot save the sandbox state to ${file}: no file can be created in the folder ${dir} (${(e as NodeJS.ErrnoException).code ?? String(e)}): make it writable, or choose another --state`,
    );
  }
  return { path: file, existed, objects };
}

function readState(file: string): StoredObject[] {
  let text: string;
  try {
    if (!fs.statSync(file).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InvalidInput(`cannot read the sandbox state ${file}: it ${reason(e)}: ${fix(file)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidInput(
      `cannot read the sandbox state ${file}: it is not JSON (egressctl sandbox writes a JSON list of objects): ${fix(file)}`,
    );
  }
  if (!Array.isArray(parsed))
    throw new InvalidInput(
      `cannot read the sandbox state ${file}: it is not a JSON list of objects: ${fix(file)}`,
    );
  parsed.forEach((o: unknown, i) => {
    const obj = o as Partial<StoredObject> | null;
    if (
      !obj ||
      typeof obj !== 'object' ||
      typeof obj.apiVersion !== 'string' ||
      typeof obj.kind !== 'string' ||
      typeof obj.metadata?.name !== 'string'
    )
      throw new InvalidInput(
        `cannot read the sandbox state ${file}: item ${i} is not an object with apiVersion, kind and metadata.name: ${fix(file)}`,
      );
  });
  return parsed as StoredObject[];
}

/**
 * Saves `objects` to `file` atomically: a temporary file in the same folder (so the rename never
 * crosses file systems), fsynced before the rename so that the new name never points at unwritten
 * blocks, then the folder fsynced so that the rename itself survives a power cut. On failure the
 * temporary file is removed and FILE is as it was; throws a ClusterError naming the file.
 */
export function saveState(file: string, objects: readonly StoredObject[]): void {
  const tmp = tempName(file);
  try {
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeFileSync(fd, `${JSON.stringify(objects, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new ClusterError(
      `cannot save the sandbox state to ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)} (the previous state, if any, is unchanged): free space or fix the folder, or choose another --state`,
      { cause: e },
    );
  }
  try {
    const dirFd = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    // Some file systems refuse to fsync a folder; the rename is done either way.
  }
}

/** `.FILE.PID.tmp` beside FILE: hidden, and one per process, so two sandboxes never share one. */
const tempName = (file: string): string =>
  path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);

/** Temporary files left by sandboxes killed mid-save (their process is gone): never the state itself. */
function removeStaleTemps(file: string): void {
  const prefix = `.${path.basename(file)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(file));
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.slice(prefix.length, -'.tmp'.length));
    if (!n.startsWith(prefix) || !n.endsWith('.tmp') || !Number.isInteger(pid) || pid <= 0) continue;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH')
        fs.rmSync(path.join(path.dirname(file), n), { force: true });
    }
  }
}

function reason(e: unknown): string {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'is not accessible (permission denied)';
    case 'EROFS':
      return 'is on a read-only file system';
    case 'EISDIR':
      return 'is a folder, not a file';
    default:
      return `cannot be used (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
}

/**
 * Saves the state when something changed, every `everyMs`, and once more at `stop()`. A failed periodic
 * save is reported through `onError` and retried at the next tick; the final save throws.
 */
export interface StateSaver {
  /** Marks the state changed (the store's change events). */
  touch(): void;
  /** Stops the timer and saves, whether or not anything changed since the last save. */
  stop(): void;
}

export function startStateSaver(o: {
  path: string;
  objects: () => readonly StoredObject[];
  everyMs: number;
  onError: (e: ClusterError) => void;
}): StateSaver {
  let dirty = false;
  let failing = false;
  const save = (): void => saveState(o.path, o.objects());
  const timer = setInterval(() => {
    if (!dirty) return;
    try {
      save();
      dirty = false;
      failing = false;
    } catch (e) {
      // One line per failure streak, not one every tick.
      if (!failing) o.onError(e as ClusterError);
      failing = true;
    }
  }, o.everyMs);
  // The final save at stop() is what exit waits for; the timer alone never keeps the process up.
  timer.unref();
  return {
    touch: () => void (dirty = true),
    stop: () => {
      clearInterval(timer);
      save();
    },
  };
}
