// The front door's WebSocket side (RFC 6455), for the asgi class: the
// opening handshake's checks and answer, and the framing of one upgraded
// connection. Python sees whole messages (python/nicorn/asgi/websocket.py):
// masking, fragments, ping/pong, the close handshake, UTF-8 and size checks
// are all done here, on the I/O thread, as node:http does HTTP's framing.

import crypto from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type http from 'node:http';
import type { Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** The largest message a client may send (uvicorn's ws_max_size default): past it, close 1009. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** How long a close handshake waits for the client's close before the socket is ended anyway. */
const CLOSE_WAIT_MS = 2000;

export const Close = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  NoStatus: 1005,
  Abnormal: 1006,
  InvalidData: 1007,
  TooBig: 1009,
  InternalError: 1011,
} as const;

/** Why an upgrade request is not a WebSocket handshake this server takes: [status, reason, extra headers]. */
export function handshakeRefusal(req: http.IncomingMessage): [number, string, Record<string, string>] | null {
  const upgrade = (req.headers.upgrade ?? '').toLowerCase();
  if (upgrade !== 'websocket') return [400, 'Bad Request', {}];
  if (req.method !== 'GET' || req.httpVersion !== '1.1') return [400, 'Bad Request', {}];
  const connection = String(req.headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim());
  if (!connection.includes('upgrade')) return [400, 'Bad Request', {}];
  if (req.headers['sec-websocket-version'] !== '13') return [426, 'Upgrade Required', { 'Sec-WebSocket-Version': '13' }];
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || Buffer.from(key, 'base64').length !== 16 || !/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    return [400, 'Bad Request', {}];
  }
  return null;
}

/** Writes a plain HTTP answer on a socket that node:http has handed over (an upgrade it refuses). */
export function writeRefusal(sock: Socket, status: number, reason: string, headers: Record<string, string> = {}, body = ''): void {
  const lines = [`HTTP/1.1 ${status} ${reason}`, 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  sock.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** The close codes a peer may send (RFC 6455 7.4): 1005, 1006 and 1015 never travel. */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/**
 * One WebSocket connection after node:http handed over its socket: the
 * handshake's answer (accept or refuse), then messages both ways. Every
 * callback is set by the dispatcher before `start()`.
 */
export class WebSocketConnection {
  /** A whole message from the client. */
  onMessage: (binary: boolean, data: Buffer) => void = () => {};
  /** The connection is over: the client's close code and reason, or 1006 if it went without one. Called once. */
  onClosed: (code: number, reason: string) => void = () => {};
  accepted = false;
  private buffered: Buffer;
  private fragments: Buffer[] = [];
  private fragmentsBytes = 0;
  private fragmentBinary = false;
  private closeSent = false;
  private closed = false;

  constructor(
    private readonly sock: Socket,
    private readonly key: string,
    head: Buffer,
    private readonly maxMessage = MAX_MESSAGE_BYTES,
  ) {
    this.buffered = head;
  }

  get gone(): boolean {
    return this.closed || this.sock.destroyed;
  }

  /** The 101 answer; `headers` from the app (names and values alternating). */
  accept(subprotocol: string, headers: string[]): void {
    if (this.gone) return;
    this.accepted = true;
    const accept = crypto.createHash('sha1').update(this.key + GUID).digest('base64');
    const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`];
    if (subprotocol) lines.push(`Sec-WebSocket-Protocol: ${subprotocol}`);
    for (let i = 0; i + 1 < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
    this.sock.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    this.sock.setNoDelay(true);
    this.sock.setTimeout(0);
    this.sock.on('data', (d: Buffer) => this.received(d));
    if (this.buffered.length > 0) this.received(Buffer.alloc(0));
  }

  /** The app refused the connection before accepting it (ASGI: HTTP 403). */
  refuse(status = 403, reason = 'Forbidden'): void {
    if (this.gone) return;
    writeRefusal(this.sock, status, reason);
    this.finish(Close.Abnormal, '');
  }

  /** Starts watching the socket for its end (before accept, too: a client may leave while the app decides). */
  start(): void {
    this.sock.on('close', () => this.finish(this.closeSent ? Close.Normal : Close.Abnormal, ''));
    this.sock.on('error', () => {});
  }

  pause(): void {
    this.sock.pause();
  }

  resume(): void {
    this.sock.resume();
  }

  /** A whole message; `written` once the socket took it. */
  send(binary: boolean, data: Buffer, written: () => void): void {
    if (this.gone || this.closeSent) return written();
    const header = frameHeader(binary ? 2 : 1, data.length);
    // A small message goes out in one write (one segment); a large one is not copied to prepend its header.
    if (data.length <= 16384) this.sock.write(Buffer.concat([header, data]), () => written());
    else {
      this.sock.write(header);
      this.sock.write(data, () => written());
    }
  }

  /** Starts the close handshake (the app's websocket.close, 1001 on a graceful stop, or a protocol error). */
  close(code: number, reason = ''): void {
    if (this.gone || this.closeSent) return;
    this.closeSent = true;
    const r = Buffer.from(reason, 'utf8').subarray(0, 123);
    const payload = Buffer.alloc(2 + r.length);
    payload.writeUInt16BE(code, 0);
    r.copy(payload, 2);
    this.sock.write(Buffer.concat([frameHeader(8, payload.length), payload]));
    // The client answers with its close; one that does not is not waited for long.
    setTimeout(() => this.sock.destroy(), CLOSE_WAIT_MS).unref();
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed(code, reason);
  }

  /** Fails the connection (RFC 6455 7.1.7): close with `code`, and the app hears the same code. */
  private fail(code: number, reason: string): void {
    this.close(code, reason);
    this.sock.end();
    this.finish(code, reason);
  }

  private received(data: Buffer): void {
    this.buffered = this.buffered.length === 0 ? data : Buffer.concat([this.buffered, data]);
    while (!this.closed) {
      const b = this.buffered;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const rsv = b[0]! & 0x70;
      const opcode = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(this.maxMessage)) return this.fail(Close.TooBig, 'Message too big');
        len = Number(big);
        at = 10;
      }
      if (rsv !== 0) return this.fail(Close.ProtocolError, 'Reserved bits set (no extension was agreed)');
      if (!masked) return this.fail(Close.ProtocolError, 'A client frame must be masked');
      if (this.fragmentsBytes + len > this.maxMessage) return this.fail(Close.TooBig, 'Message too big');
      if (b.length < at + 4 + len) return;
      const mask = b.subarray(at, at + 4);
      const payload = Buffer.from(b.subarray(at + 4, at + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
      this.buffered = b.subarray(at + 4 + len);
      if (opcode >= 8) {
        if (!fin || len > 125) return this.fail(Close.ProtocolError, 'A control frame must be whole and at most 125 bytes');
        this.control(opcode, payload);
        continue;
      }
      if (opcode === 0) {
        if (this.fragments.length === 0) return this.fail(Close.ProtocolError, 'A continuation without a message');
      } else if (opcode === 1 || opcode === 2) {
        if (this.fragments.length > 0) return this.fail(Close.ProtocolError, 'A new message inside a fragmented one');
        this.fragmentBinary = opcode === 2;
      } else {
        return this.fail(Close.ProtocolError, `Unknown opcode ${opcode}`);
      }
      this.fragments.push(payload);
      this.fragmentsBytes += payload.length;
      if (!fin) continue;
      const message = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
      this.fragments = [];
      this.fragmentsBytes = 0;
      if (!this.fragmentBinary && !isUtf8(message)) return this.fail(Close.InvalidData, 'Invalid UTF-8 in a text message');
      this.onMessage(this.fragmentBinary, message);
    }
  }

  private control(opcode: number, payload: Buffer): void {
    if (opcode === 9) {
      // Ping: the pong carries its payload.
      if (!this.closeSent) this.sock.write(Buffer.concat([frameHeader(10, payload.length), payload]));
      return;
    }
    if (opcode === 10) return;
    if (opcode !== 8) return this.fail(Close.ProtocolError, `Unknown control opcode ${opcode}`);
    // Close: its code and reason (none: 1005), answered with the same code unless we sent ours first.
    let code: number = Close.NoStatus;
    let reason = '';
    if (payload.length === 1) return this.fail(Close.ProtocolError, 'A close payload of one byte');
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      if (!validCloseCode(code)) return this.fail(Close.ProtocolError, `Invalid close code ${code}`);
      const text = payload.subarray(2);
      if (!isUtf8(text)) return this.fail(Close.InvalidData, 'Invalid UTF-8 in the close reason');
      reason = text.toString('utf8');
    }
    if (!this.closeSent) this.close(code === Close.NoStatus ? Close.Normal : code);
    this.sock.end();
    this.finish(code, reason);
  }
}

/** An unmasked (server) frame header with FIN set. */
function frameHeader(opcode: number, length: number): Buffer {
  if (length < 126) return Buffer.from([0x80 | opcode, length]);
  if (length < 65536) {
    const h = Buffer.alloc(4);
    h[0] = 0x80 | opcode;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.alloc(10);
  h[0] = 0x80 | opcode;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}
