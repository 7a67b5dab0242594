// Requests left behind when the Python thread dies (a crash, os._exit) or is
// aborted by --timeout: Gunicorn's 500 page for each that had nothing sent
// yet, with Connection: close; a response already under way is cut, as a
// client of a dying Gunicorn worker sees it.

import type { Exchange } from '../bridge/bridge.js';
import { errorPage } from './front-door/errors.js';

const PAGE = errorPage('Internal Server Error', '');
/** How long the pages get to reach their sockets before the process exits. */
const FLUSH_MS = 1000;

/** Answers `left` and resolves once the answers are written (or FLUSH_MS passed). */
export function answerAbandoned(left: Exchange[]): Promise<void> {
  const written = left.map((ex) => {
    const { res } = ex;
    if (res.headersSent) {
      res.destroy();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      res.once('close', resolve);
      res.once('finish', resolve);
      res.shouldKeepAlive = false;
      res.writeHead(500, 'Internal Server Error', {
        Connection: 'close',
        'Content-Type': 'text/html',
        'Content-Length': String(PAGE.length),
      });
      res.end(PAGE);
    });
  });
  return Promise.race([Promise.all(written).then(() => {}), new Promise<void>((r) => setTimeout(r, FLUSH_MS).unref())]);
}
