// The pid file, as Gunicorn's pidfile.Pidfile keeps it: written atomically,
// refused while a live arbiter holds it, removed on exit.

import fs from 'node:fs';
import path from 'node:path';

export class PidfileError extends Error {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Pidfile {
  constructor(public file: string) {}

  /** Moves the file (USR2 leaves the old arbiter's as .oldbin). */
  rename(to: string): void {
    try {
      fs.renameSync(this.file, to);
      this.file = to;
    } catch {
      // nothing to move
    }
  }

  create(pid: number): void {
    const existing = this.validate();
    if (existing !== null && existing !== pid) {
      throw new PidfileError(`Already running on PID ${existing} (or pid file '${this.file}' is stale)`);
    }
    const dir = path.dirname(path.resolve(this.file));
    const tmp = path.join(dir, `.${path.basename(this.file)}.${pid}.tmp`);
    fs.writeFileSync(tmp, `${pid}\n`, { mode: 0o644 });
    fs.renameSync(tmp, this.file);
  }

  /** The pid of a live process named in the file, or null. */
  validate(): number | null {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return null;
    }
    const pid = Number.parseInt(text.trim(), 10);
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : null;
  }

  /** Removes the file if it still names `pid` (a newer arbiter may own it now). */
  unlink(pid: number): void {
    try {
      if (Number.parseInt(fs.readFileSync(this.file, 'utf8').trim(), 10) === pid) fs.unlinkSync(this.file);
    } catch {
      // gone already
    }
  }
}
