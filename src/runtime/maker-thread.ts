// Runs the --preload snapshot maker (snapshot-maker.ts) in a thread of the
// arbiter: the python-thread.js entry, which hosts it too. The thread, and
// the interpreter it made the image of, end with it. (The base snapshot's
// maker is a process of its own: base-image.ts.)

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { findUp } from './layout.js';
import type { SnapshotMakerData, SnapshotMakerResult } from './snapshot-maker.js';

/** The thread entry that also hosts the --preload snapshot maker (role 'snapshot-maker'). */
const PYTHON_THREAD = path.join(findUp(path.dirname(fileURLToPath(import.meta.url)), 'dist/python-thread.js'), 'python-thread.js');

export function runMaker(data: SnapshotMakerData): Promise<SnapshotMakerResult> {
  const thread = new Worker(PYTHON_THREAD, { workerData: data });
  return new Promise<SnapshotMakerResult>((resolve) => {
    const crashed = (what: string) => resolve({ kind: 'uncarriable', reason: `the snapshot maker failed: ${what}` });
    thread.once('message', (m: SnapshotMakerResult) => resolve(m));
    thread.once('error', (e) => crashed(e.stack ?? e.message));
    thread.once('exit', (code) => crashed(`its thread exited (${code})`));
  }).finally(() => void thread.terminate());
}
