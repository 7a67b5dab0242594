// Gunicorn's WorkerTmp: an unlinked file in --worker-tmp-dir, created with
// --umask, whose ctime the worker touches (fchmod) as its heartbeat and the
// arbiter reads to tell a live worker from a silent one.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class WorkerTmpError extends Error {}

/** Creates the file and returns its descriptor; the name is unlinked at once. */
export function createWorkerTmp(dir: string | null, umask: number, uid: number, gid: number): number {
  if (dir && !fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new WorkerTmpError(`${dir} doesn't exist. Can't create workertmp.`);
  }
  const name = path.join(dir ?? os.tmpdir(), `wnicorn-${crypto.randomBytes(6).toString('hex')}`);
  const old = process.umask(umask);
  let fd: number;
  try {
    fd = fs.openSync(name, 'wx+', 0o600);
  } finally {
    process.umask(old);
  }
  try {
    if (process.geteuid?.() === 0) fs.fchownSync(fd, uid, gid);
  } finally {
    fs.unlinkSync(name);
  }
  return fd;
}

/** The worker's side: flip the mode bits, which moves the ctime. */
export function notify(fd: number, spinner: number): void {
  fs.fchmodSync(fd, spinner % 2);
}

/** The arbiter's side: when the worker last said it was alive, in ms since the epoch. */
export function lastUpdate(fd: number): number {
  return fs.fstatSync(fd).ctimeMs;
}

/** The descriptor the worker process receives it on (stdio slot after ipc). */
export const WORKER_TMP_FD = 4;
