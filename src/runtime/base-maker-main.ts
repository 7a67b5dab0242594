// The base snapshot's maker, a process of its own (base-image.ts
// startMakingBaseImage forks it from a worker that booted without the
// image): boots an interpreter, makes the image, caches it, reports the line
// the worker logs, and exits. Its interpreter's memory goes with it.

import { storeBaseImage } from './base-image.js';
import { makeBaseSnapshot, type BaseMakerData, type SnapshotMakerResult } from './snapshot-maker.js';

process.once('message', (data: BaseMakerData) => {
  void (async () => {
    const t0 = performance.now();
    const made = await makeBaseSnapshot(data).catch((e: unknown): SnapshotMakerResult => ({ kind: 'uncarriable', reason: String(e) }));
    const report = storeBaseImage(made, Math.round(performance.now() - t0), data.store);
    // The worker that asked may have left meanwhile: the image is cached all the same.
    if (process.connected) process.send?.(report, () => process.exit(0));
    else process.exit(0);
  })();
});
