// A worker process. Its Python thread's start is the longest part of a
// worker's, and needs nothing from the arbiter but the snapshot image's
// descriptor: so the thread is started as soon as this thread's own code
// (io-thread.ts: node:http, the logs, ...) is loaded, without waiting for the
// arbiter's init message. Starting it before that code loads was slower
// (26-92 ms, paired replacements): on a busy machine the two compete for a core.

import fs from 'node:fs';
import { Interpreter } from '../bridge/interpreter.js';
import { IMAGE_FD_ENV } from '../runtime/snapshot.js';
import type { ArbiterMessage, Init, InitMessage } from './messages.js';

/**
 * The arbiter's init message and the listeners' handles, which follow it. An
 * arbiter gone before it sent them (its IPC channel closed) leaves nothing to
 * serve: the worker exits, as it does when its arbiter goes later
 * (io-thread.ts). Without this it waited for ever, an orphan no test knew the
 * pid of (it logs "Booting worker" only once it has its settings).
 */
function receiveInit(): Promise<Init> {
  return new Promise((resolve) => {
    let init: InitMessage | null = null;
    const handles: unknown[] = [];
    const orphaned = () => process.exit(0);
    const onMessage = (m: ArbiterMessage, handle: unknown) => {
      if (m.kind === 'init') init = m;
      else if (m.kind === 'listener') handles[m.index] = handle;
      if (init && handles.filter(Boolean).length === init.listeners) {
        process.off('message', onMessage);
        process.off('disconnect', orphaned);
        resolve({ init, handles });
      }
    };
    process.on('message', onMessage);
    process.once('disconnect', orphaned);
    // Gone already: this module's imports load asynchronously, and the channel's
    // end may have been read (its 'disconnect' emitted, to nobody) meanwhile.
    // Seen on a loaded machine (load 12): the orphan case's worker never exited.
    if (!process.connected) orphaned();
  });
}

// Listened for now: messages that arrive before there is a listener are lost.
const received = receiveInit();
const { runWorker } = await import('./io-thread.js');
// --preload: the arbiter's snapshot image. A thread closes its descriptor once
// restored, so the interpreters -k gthread starts later each get their own,
// opened anew (Linux's /proc/self/fd) from one kept here.
const imageFd = process.env[IMAGE_FD_ENV] ? Number(process.env[IMAGE_FD_ENV]) : null;
const spareFd = imageFd === null ? null : fs.openSync(`/proc/self/fd/${imageFd}`, 'r');
const launched = Interpreter.launch(imageFd);
await runWorker(received, launched, () => Interpreter.launch(spareFd === null ? null : fs.openSync(`/proc/self/fd/${spareFd}`, 'r')));
// Every interpreter is launched by now.
if (spareFd !== null) fs.closeSync(spareFd);
