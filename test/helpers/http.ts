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
