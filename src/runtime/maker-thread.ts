// Runs a snapshot maker (snapshot-maker.ts) in a thread of its own: the
// python-thread.js entry, which hosts the makers too. The thread, and the
// interpreter it made the image of, end with it.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { findUp } from './layout.js';
import type { BaseMakerData, SnapshotMakerData, SnapshotMakerResult } from './snapshot-maker.js';

/** The thread entry that also hosts the snapshot makers (roles 'snapshot-maker' and 'base-maker'). */
const PYTHON_THREAD = path.join(findUp(path.dirname(fileURLToPath(import.meta.url)), 'dist/python-thread.js'), 'python-thread.js');

export function startMaker(data: SnapshotMakerData | BaseMakerData): Worker {
  return new Worker(PYTHON_THREAD, { workerData: data });
}

export function runMaker(data: SnapshotMakerData | BaseMakerData): Promise<SnapshotMakerResult> {
  const thread = startMaker(data);
  return new Promise<SnapshotMakerResult>((resolve) => {
    const crashed = (what: string) => resolve({ kind: 'uncarriable', reason: `the snapshot maker failed: ${what}` });
    thread.once('message', (m: SnapshotMakerResult) => resolve(m));
    thread.once('error', (e) => crashed(e.stack ?? e.message));
    thread.once('exit', (code) => crashed(`its thread exited (${code})`));
  }).finally(() => void thread.terminate());
}
