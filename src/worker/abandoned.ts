// Requests left behind when the Python thread dies (a crash, os._exit) or is
// aborted by --timeout: Gunicorn's 500 page for each that had nothing sent
// yet, with Connection: close; a response already under way is cut, as a
// client of a dying Gunicorn worker sees it. Each sink writes that in its
// own protocol (front-door/http1-sink.ts).

import type { ResponseSink } from '../bridge/dispatcher.js';

/** How long the pages get to reach their sockets before the process exits. */
const FLUSH_MS = 1000;

/** Answers `left` and resolves once the answers are written (or FLUSH_MS passed). */
export function answerAbandoned(left: ResponseSink[]): Promise<void> {
  const written = left.map((sink) => sink.fail());
  return Promise.race([Promise.all(written).then(() => {}), new Promise<void>((r) => setTimeout(r, FLUSH_MS).unref())]);
}
