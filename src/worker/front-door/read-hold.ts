// Stopping and restarting the reading of one connection, in step with node:http.
//
// node:http stops reading a socket itself while the socket's write side is
// backed up: it sets `socket._paused`, pauses the socket (its handle stops
// reading) and, after the bytes in hand are parsed, the parser; on 'drain' it
// resumes all three. The front door holds a connection for a reason of its
// own (too many of its requests are waiting for Python), and node's resume on
// 'drain' must not undo that hold: `_paused` is made to read true while either
// holds. node's own resume path then pauses the socket again at once
// (its 'resume' listener checks `_paused`), before any byte is read.
// (node 20's lib/_http_server.js: parserOnIncoming, socketOnDrain, onSocketResume.)

import type { Socket } from 'node:net';

/** The fields node:http keeps on a socket it serves. */
interface HttpSocket extends Socket {
  _paused: boolean;
  parser?: { pause(): void; resume(): void } | null;
}

interface Holds {
  /** node:http's own pause (the write side is backed up). */
  node: boolean;
  /** The front door's. */
  ours: boolean;
}

const holds = new WeakMap<Socket, Holds>();

/** Whether the front door holds the reading of `sock`. */
export function readingHeld(sock: Socket): boolean {
  return holds.get(sock)?.ours ?? false;
}

/** Holds (true) or releases (false) the reading of a socket node:http serves. */
export function holdReading(sock: Socket, hold: boolean): void {
  const s = sock as HttpSocket;
  let h = holds.get(sock);
  if (!h) {
    if (!hold) return;
    const state: Holds = { node: Boolean(s._paused), ours: false };
    holds.set(sock, state);
    Object.defineProperty(s, '_paused', {
      configurable: true,
      enumerable: true,
      get: () => state.node || state.ours,
      set: (v: boolean) => {
        state.node = v;
      },
    });
    h = state;
  }
  if (h.ours === hold) return;
  h.ours = hold;
  if (hold) {
    // The handle stops reading; node pauses the parser after the bytes in hand
    // (it checks `_paused` once its execute returns).
    sock.pause();
  } else if (!h.node && !sock.destroyed) {
    s.parser?.resume();
    sock.resume();
  }
}
