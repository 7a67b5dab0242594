// The wire between the I/O thread and the Python thread: one SharedArrayBuffer
// holding a control block and two byte rings. Everything that crosses is a
// frame: an 8-byte header (type u8, exchange id u24 LE, payload length u32 LE)
// followed by the payload and 0-7 bytes of padding, so that every header and
// payload starts 8-aligned in its ring. (V8 copies to and from shared memory
// word by word only when source and destination are equally aligned; byte by
// byte otherwise, 7x slower: 545 vs 78 us per MiB.) python/nicorn/channel.py
// mirrors these numbers (test/unit/python.test.ts compares the two in Pyodide).
//
// The exchange id names the request a frame belongs to: the I/O thread numbers
// each head it hands over, and every frame of that request, both ways, carries
// the number (modulo 2^24). A reader routes frames by it instead of assuming
// "the current request"; a client gone is flagged per exchange (GONE_SLOTS).

import { Ring } from './ring.js';

/** I/O thread -> Python thread. */
export const InFrame = {
  /** One request head: NUL-separated latin-1 fields, see encodeHead(). */
  Head: 1,
  Body: 2,
  /** End of the request body. */
  Eof: 3,
  /** The client went away before the body was complete. */
  Abort: 4,
  /** Leave the serving loop (worker shutdown). */
  Stop: 5,
  /** asgi: the client of this exchange left (the app's receive() gets http.disconnect). */
  Gone: 6,
  /**
   * asgi: u32 LE, bytes of this exchange's response the front door has written
   * since the last Sent; Python's send() waits while more than
   * ASGI_RESPONSE_WINDOW of it are unwritten (a slow client holds its own
   * request, never the others sharing the ring).
   */
  Sent: 7,
  /** asgi: a WebSocket handshake's head (the Head record); the app decides to accept it. */
  WsHead: 8,
  /**
   * asgi: a piece of a client's WebSocket message: a flags byte (1: binary,
   * 2: the message's last piece), then at most MAX_IN_FRAME bytes.
   */
  WsData: 9,
  /** asgi: the WebSocket is closed: u16 BE code (1006: gone without a close), then the reason, utf-8. */
  WsClosed: 10,
} as const;

/** Python thread -> I/O thread. */
export const OutFrame = {
  /** Status and headers: "flags\0status\0name\0value\0...", latin-1. */
  Start: 1,
  Body: 2,
  /** Stream a host file: u64 offset, i64 count (-1: to EOF), utf-8 path. */
  File: 3,
  /** The response is complete; the connection may be reused. */
  End: 4,
  /** The response is broken: close the connection after what was sent. */
  Close: 5,
  /** wsgi.early_hints: a 103 response's headers, "name\0value\0...", latin-1; the request goes on. */
  Hints: 6,
  /**
   * asgi: the app has taken all the body it was sent of this exchange: the
   * I/O thread may forward another ASGI_BODY_WINDOW bytes (Python holds the
   * bodies of many requests at once; none may fill the in ring for the others).
   */
  Read: 7,
  /** asgi: accept the WebSocket (101): "subprotocol\0name\0value\0...", latin-1 (subprotocol may be empty). */
  WsAccept: 8,
  /** asgi: one whole WebSocket message: a flags byte (1: binary), then the data. */
  WsData: 9,
  /** asgi: close the WebSocket (before accept: HTTP 403): u16 BE code, then the reason, utf-8. */
  WsClose: 10,
} as const;

/** asgi flow control (python/nicorn/asgi/channel.py mirrors both). */
export const ASGI_RESPONSE_WINDOW = 1 << 18;
export const ASGI_BODY_WINDOW = 1 << 18;

export const FRAME_HEADER = 8;
/** Exchange ids wrap here (they fill the header's 3 spare bytes). */
export const EXCHANGE_ID_LIMIT = 1 << 24;
/**
 * What the Python thread's recv() returns for a frame, one number for one
 * crossing: ((exchange << RECV_LENGTH_BITS) + length) * 16 + type, a safe
 * integer (below 2^49: ids under 2^24, lengths at most the 1 MiB inbox),
 * which Pyodide hands Python as an int.
 */
export const RECV_LENGTH_BITS = 21;

/** The padding after a payload of `length` bytes. */
export function framePadding(length: number): number {
  return -length & 7;
}

/** Zero bytes to pad with. */
export const PADDING = new Uint8Array(8);

/** Control block slots (Int32). */
export const Ctl = {
  InWrite: 0,
  InRead: 1,
  OutWrite: 2,
  OutRead: 3,
  /** Pyodide's interrupt buffer (2 = SIGINT): lets the arbiter stop stuck Python. */
  Interrupt: 5,
  /** asgi: the wall clock (ms, mod 2^32) when the event loop last left its wait; 0 while it waits. */
  BusySince: 6,
  /** The size of the Python thread's wasm memory, in 64 KiB pages (Python writes it with each response). */
  WasmPages: 7,
  /**
   * GONE_SLOTS slots from here: the I/O thread writes exchange `id` into slot
   * `GoneBase + id % GONE_SLOTS` when its client leaves; Python compares the
   * slot with the id it is serving. More slots than exchanges can be in flight
   * on one channel (the pool's depth, interpreter-pool.ts), so no two in flight share a slot.
   */
  GoneBase: 8,
} as const;

export const GONE_SLOTS = 16;
/** The slots above, then the gone slots; a multiple of 8, so the rings start 8-aligned. */
const CTL_BYTES = (Ctl.GoneBase + GONE_SLOTS) * 4;
export const IN_RING_BYTES = 1 << 20;
export const OUT_RING_BYTES = 1 << 20;
/** Largest body frame the I/O thread writes; the Python side's inbox holds one. */
export const MAX_IN_FRAME = 1 << 16;

export interface Channel {
  readonly sab: SharedArrayBuffer;
  readonly ctl: Int32Array;
  readonly inRing: Ring;
  readonly outRing: Ring;
}

export function createChannelBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(CTL_BYTES + IN_RING_BYTES + OUT_RING_BYTES);
}

export function openChannel(sab: SharedArrayBuffer): Channel {
  const ctl = new Int32Array(sab, 0, CTL_BYTES / 4);
  const inRing = new Ring(ctl, Ctl.InWrite, Ctl.InRead, new Uint8Array(sab, CTL_BYTES, IN_RING_BYTES));
  const outRing = new Ring(ctl, Ctl.OutWrite, Ctl.OutRead, new Uint8Array(sab, CTL_BYTES + IN_RING_BYTES, OUT_RING_BYTES));
  return { sab, ctl, inRing, outRing };
}

export function frameHeader(type: number, exchange: number, length: number): Uint8Array {
  const h = new Uint8Array(FRAME_HEADER);
  const view = new DataView(h.buffer);
  view.setUint32(0, (type & 0xff) | ((exchange % EXCHANGE_ID_LIMIT) << 8), true);
  view.setUint32(4, length, true);
  return h;
}

/** The slot a gone client of exchange `id` is flagged in. */
export function goneSlot(id: number): number {
  return Ctl.GoneBase + (id % GONE_SLOTS);
}

/**
 * The head record's fields before the header pairs, in order: the names
 * python/nicorn/channel.py gives them (RequestHead), which must match.
 */
export const HEAD_FIELDS = [
  'method', 'target', 'version', 'has_body', 'scheme', 'remote_addr', 'remote_port', 'server_name', 'server_port', 'proxy',
] as const;

/** What the I/O thread knows about one request when it hands it to Python. */
export interface RequestHead {
  method: string;
  /** The request target exactly as sent (RAW_URI). */
  target: string;
  /** "1.0" or "1.1". */
  httpVersion: string;
  /** Whether body frames (then Eof) follow the head. */
  hasBody: boolean;
  scheme: 'http' | 'https';
  remoteAddress: string;
  remotePort: number;
  /** The listener's own address; both empty on a unix socket (Python then uses Host). */
  serverName: string;
  serverPort: string;
  /**
   * From a PROXY protocol header: "PROTOCOL PROXY_ADDR PROXY_PORT" (Gunicorn's
   * PROXY_* environ keys; remoteAddress/remotePort are then the client's). Empty without one.
   */
  proxy: string;
  /** Header names and values as received, alternating. */
  rawHeaders: readonly string[];
}

/** The head record: one string, fields NUL-separated (HEAD_FIELDS), then header pairs. */
export function encodeHead(h: RequestHead): Buffer {
  const fields: string[] = [
    h.method, h.target, h.httpVersion, h.hasBody ? '1' : '0', h.scheme,
    h.remoteAddress, String(h.remotePort), h.serverName, h.serverPort, h.proxy, ...h.rawHeaders,
  ];
  return Buffer.from(fields.join('\0'), 'latin1');
}

export interface ResponseStart {
  statusCode: number;
  reason: string;
  /** Close the connection after this response (the Python side decided). */
  close: boolean;
  /** Gunicorn's error page (flag "e"), not the app's own response. */
  errorPage: boolean;
  /** Names and values, alternating, in the app's order. */
  headers: string[];
}

export function decodeStart(payload: Buffer): ResponseStart {
  const parts = payload.toString('latin1').split('\0');
  const flags = parts[0] ?? '';
  const status = parts[1] ?? '500 Internal Server Error';
  const sp = status.indexOf(' ');
  return {
    close: flags.includes('c'),
    errorPage: flags.includes('e'),
    statusCode: Number(sp < 0 ? status : status.slice(0, sp)),
    reason: sp < 0 ? '' : status.slice(sp + 1),
    headers: parts.slice(2),
  };
}

export interface FileSpan {
  path: string;
  offset: number;
  /** -1 means to the end of the file. */
  count: number;
}

export function decodeFile(payload: Buffer): FileSpan {
  return {
    offset: Number(payload.readBigUInt64LE(0)),
    count: Number(payload.readBigInt64LE(8)),
    path: payload.subarray(16).toString('utf8'),
  };
}
