// Clients for the end-to-end suites: raw sockets where framing matters.

import net from 'node:net';

export interface RawResult {
  /** Everything received, as latin-1 text. */
  text: string;
  bytes: Buffer;
  /** Whether the server closed the connection (vs. our timeout). */
  closedByServer: boolean;
}

/** Sends `data` on a fresh connection and collects the reply until the server closes or `idleMs` of silence. */
export function raw(port: number, data: string | Buffer, idleMs = 1500): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closedByServer = false;
    let timer: NodeJS.Timeout;
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      const bytes = Buffer.concat(chunks);
      resolve({ bytes, text: bytes.toString('latin1'), closedByServer });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(finish, idleMs);
    };
    sock.on('connect', () => {
      sock.write(data);
      arm();
    });
    sock.on('data', (d) => {
      chunks.push(d);
      arm();
    });
    sock.on('end', () => {
      closedByServer = true;
      finish();
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET') {
        closedByServer = true;
        finish();
      } else reject(e);
    });
  });
}

export interface ParsedResponse {
  status: number;
  headers: Map<string, string[]>;
  body: Buffer;
}

/** Splits a raw reply into status, headers and (dechunked) body; one response only. */
export function parseResponse(bytes: Buffer): ParsedResponse {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete head in ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`);
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    const k = line.slice(0, i).toLowerCase();
    headers.set(k, [...(headers.get(k) ?? []), line.slice(i + 1).trim()]);
  }
  let body = bytes.subarray(end + 4);
  if (headers.get('transfer-encoding')?.[0] === 'chunked') {
    const parts: Buffer[] = [];
    let off = 0;
    for (;;) {
      const nl = body.indexOf('\r\n', off);
      if (nl < 0) break;
      const size = parseInt(body.subarray(off, nl).toString(), 16);
      if (!size) break;
      parts.push(body.subarray(nl + 2, nl + 2 + size));
      off = nl + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return { status, headers, body };
}

export function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;
}

export interface LoadResult {
  ok: number;
  failed: number;
  errors: string[];
}

export interface Load {
  /** Lets every client finish its current request; resolves with the counts. */
  stop(): Promise<LoadResult>;
}

/**
 * `clients` concurrent fetch loops (keep-alive) until stopped; an answer other
 * than 200, or a failed request, counts as failed. `url` may vary per request.
 */
export function startLoad(url: string | ((i: number) => string), clients: number): Load {
  const r: LoadResult = { ok: 0, failed: 0, errors: [] };
  let done = false;
  let i = 0;
  const one = async () => {
    while (!done) {
      try {
        const res = await fetch(typeof url === 'string' ? url : url(i++));
        await res.arrayBuffer();
        if (res.status === 200) r.ok++;
        else {
          r.failed++;
          r.errors.push(`status ${res.status}`);
        }
      } catch (e) {
        r.failed++;
        r.errors.push(String((e as Error).cause ?? e));
      }
    }
  };
  const all = Promise.all(Array.from({ length: clients }, one));
  return {
    async stop() {
      done = true;
      await all;
      return r;
    },
  };
}

// ---------------------------------------------------------------- connections kept open

export interface Exchange extends ParsedResponse {
  /** The response exactly as it came off the wire. */
  raw: Buffer;
}

/**
 * One client connection kept open across requests (keep-alive, PROXY headers,
 * pipelining, exchanges in steps such as Expect: 100-continue, idle or slow clients).
 */
export interface Connection {
  sock: net.Socket;
  /** Resolves once connected. */
  ready: Promise<void>;
  /** Date.now() when connected (0 until then). */
  openedAt: number;
  /** Date.now() when the server ended or reset the connection; null while open or closed by us. */
  closedAt: number | null;
  send(data: string | Buffer): void;
  /**
   * The next whole response: framed by Content-Length, chunked encoding or the
   * server's close. Rejects after `timeoutMs`, or when the server closes before
   * a whole response arrived (the bytes it did send are in the error message).
   */
  response(timeoutMs?: number): Promise<Exchange>;
  /** Resolves when the server ends or resets the connection. */
  closed: Promise<void>;
  closedByServer(): boolean;
  /** Bytes received and not yet taken by response(). */
  pending(): Buffer;
  /** pending(), as latin-1 text. */
  text(): string;
  /** Resolves with text() once `done` holds for it; rejects after `ms`. */
  until(done: RegExp | ((text: string) => boolean), ms?: number): Promise<string>;
  /** Resolves true once the connection is closed, false if `ms` pass first. */
  closedWithin(ms: number): Promise<boolean>;
  close(): void;
}

/** How many bytes of `buf` make one whole response, or -1 if more must arrive (`eof`: the server closed). */
export function responseLength(buf: Buffer, eof: boolean): number {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return -1;
  const head = buf.subarray(0, end).toString('latin1');
  const status = Number(head.split(' ')[1]);
  const bodyStart = end + 4;
  if ((status >= 100 && status < 200) || status === 204 || status === 304) return bodyStart;
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    let off = bodyStart;
    for (;;) {
      const nl = buf.indexOf('\r\n', off);
      if (nl < 0) return -1;
      const size = parseInt(buf.subarray(off, nl).toString('latin1'), 16);
      if (size === 0) {
        // Trailers (if any) end with an empty line.
        const fin = buf.indexOf('\r\n\r\n', nl);
        return fin < 0 ? -1 : fin + 4;
      }
      off = nl + 2 + size + 2;
      if (off > buf.length) return -1;
    }
  }
  if (cl) return buf.length >= bodyStart + Number(cl[1]) ? bodyStart + Number(cl[1]) : -1;
  return eof ? buf.length : -1;
}

/** Opens a connection to a TCP port on 127.0.0.1, or to a unix socket path. */
export function connect(target: number | string): Connection {
  const sock = typeof target === 'number' ? net.connect(target, '127.0.0.1') : net.connect(target);
  let buf = Buffer.alloc(0);
  let eof = false;
  let byServer = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  /** Resolves with check()'s first defined value, re-checked as bytes and the close arrive; after `ms`, with onTimeout(). */
  const waitFor = <T>(check: () => T | undefined, ms: number, onTimeout: () => T | Error): Promise<T> =>
    new Promise((resolve, reject) => {
      const test = () => {
        const v = check();
        if (v === undefined) return;
        waiters.delete(test);
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        waiters.delete(test);
        const v = onTimeout();
        if (v instanceof Error) reject(v);
        else resolve(v);
      }, ms);
      waiters.add(test);
      test();
    });
  const text = () => buf.toString('latin1');
  const conn: Connection = {
    sock,
    ready: new Promise<void>((resolve, reject) => {
      sock.once('connect', () => {
        conn.openedAt = Date.now();
        resolve();
      });
      sock.once('error', reject);
    }),
    openedAt: 0,
    closedAt: null,
    closed: new Promise<void>((resolve) => {
      const done = (server: boolean) => {
        if (!eof) {
          byServer = server;
          if (server) conn.closedAt = Date.now();
        }
        eof = true;
        wake();
        resolve();
      };
      sock.on('end', () => done(true));
      sock.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNRESET' || e.code === 'EPIPE'));
      sock.on('close', () => done(false));
    }),
    send(data) {
      sock.write(data);
    },
    async response(timeoutMs = 10_000) {
      const n = await waitFor(
        () => {
          const len = responseLength(buf, eof);
          if (len >= 0 && len <= buf.length && buf.length > 0) return len;
          if (eof) return new Error(`connection closed before a whole response: ${JSON.stringify(text())}`);
          return undefined;
        },
        timeoutMs,
        () => new Error(`no whole response within ${timeoutMs} ms: ${JSON.stringify(text())}`),
      );
      if (n instanceof Error) throw n;
      const rawBytes = buf.subarray(0, n);
      buf = buf.subarray(n);
      return { ...parseResponse(rawBytes), raw: rawBytes };
    },
    closedByServer: () => byServer,
    pending: () => buf,
    text,
    until: (done, ms = 5000) =>
      waitFor(
        () => ((typeof done === 'function' ? done(text()) : done.test(text())) ? text() : undefined),
        ms,
        () => new Error(`not done (${String(done)}) within ${ms} ms; received ${JSON.stringify(text().slice(0, 300))}`),
      ),
    closedWithin: (ms) => waitFor(() => (eof ? true : undefined), ms, () => false),
    close() {
      eof = true;
      sock.destroy();
    },
  };
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake();
  });
  return conn;
}

/** Sends `data` on a fresh connection, returns the first response and closes. */
export async function exchange(target: number | string, data: string | Buffer, timeoutMs?: number): Promise<Exchange> {
  const c = connect(target);
  try {
    await c.ready;
    c.send(data);
    return await c.response(timeoutMs);
  } finally {
    c.close();
  }
}

/**
 * A PROXY protocol v2 header (binary, HAProxy's proxy-protocol.txt section 2.2)
 * for a proxied TCP over IPv4 connection; `command` LOCAL carries no address.
 */
export function proxyV2(src: string, dst: string, srcPort: number, dstPort: number, command: 'PROXY' | 'LOCAL' = 'PROXY'): Buffer {
  const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const addr = Buffer.alloc(12);
  src.split('.').forEach((b, i) => addr.writeUInt8(Number(b), i));
  dst.split('.').forEach((b, i) => addr.writeUInt8(Number(b), 4 + i));
  addr.writeUInt16BE(srcPort, 8);
  addr.writeUInt16BE(dstPort, 10);
  const local = command === 'LOCAL';
  const head = Buffer.from([local ? 0x20 : 0x21, local ? 0x00 : 0x11, 0, 0]);
  head.writeUInt16BE(local ? 0 : addr.length, 2);
  return Buffer.concat([signature, head, local ? Buffer.alloc(0) : addr]);
}

/** connect(), resolved once connected: a client that holds a connection (idle, slow, or for steps). */
export async function connected(target: number | string): Promise<Connection> {
  const c = connect(target);
  await c.ready;
  return c;
}

export interface FramedResponse extends ParsedResponse {
  /** The status line and header lines as received. */
  head: string;
}

/**
 * Splits a raw reply holding several responses (pipelining, interim 1xx) into
 * them, each framed as responseLength frames it; a response framed by neither
 * Content-Length nor chunked coding runs to the end. Chunked bodies are returned decoded.
 */
export function splitResponses(bytes: Buffer): FramedResponse[] {
  const out: FramedResponse[] = [];
  let rest = bytes;
  while (rest.length > 0) {
    const n = responseLength(rest, true);
    if (n < 0) throw new Error(`incomplete response: ${JSON.stringify(rest.toString('latin1').slice(0, 200))}`);
    const one = rest.subarray(0, n);
    out.push({ ...parseResponse(one), head: one.subarray(0, one.indexOf('\r\n\r\n')).toString('latin1') });
    rest = rest.subarray(n);
  }
  return out;
}

/** How many complete responses `text` holds, the last one excepted while it may still grow. */
export function completeResponses(text: string): number {
  let buf = Buffer.from(text, 'latin1');
  let n = 0;
  for (let len; buf.length > 0 && (len = responseLength(buf, false)) > 0; buf = buf.subarray(len)) n++;
  return n;
}

/** Reads a streamed fetch body to its end, noting when (ms after t0) each piece arrived. */
export async function readArrivals(res: Response, t0: number): Promise<{ text: string; arrivals: number[] }> {
  const reader = res.body!.getReader();
  const arrivals: number[] = [];
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString();
    arrivals.push(Date.now() - t0);
  }
  return { text, arrivals };
}
