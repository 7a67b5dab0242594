// The PROXY protocol header (HAProxy's proxy-protocol.txt, v1 text and v2
// binary) read off the start of a connection, as Gunicorn 24.1's
// Request._handle_proxy_protocol does in "auto" mode: the v2 signature or
// "PROXY " starts a header, anything else is plain HTTP. Results and error
// texts are Gunicorn's (http/message.py, http/errors.py).
//
// Unlike Gunicorn, which reads until "\r\n" however long that takes, a v1
// line is cut at the spec's 107 bytes and a v2 header at its own length
// field, so a client cannot make the server buffer without limit.

import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../../config/networks.js';
import { invalidProxyHeader, invalidProxyLine } from './errors.js';

export interface ProxyInfo {
  protocol: 'TCP4' | 'TCP6' | 'LOCAL' | 'UNSPEC';
  clientAddr: string | null;
  clientPort: number | null;
  proxyAddr: string | null;
  proxyPort: number | null;
}

export type ProxyParse =
  /** The bytes cannot start a PROXY header: plain HTTP follows. */
  | { kind: 'none' }
  /** A possible header prefix: wait for more bytes. */
  | { kind: 'more' }
  /** The header is complete; its first `consumed` bytes belong to it. */
  | { kind: 'ok'; info: ProxyInfo; consumed: number }
  /**
   * A malformed header (Gunicorn answers 400). `message` is str() of the
   * exception; `exception` and `detail` are its class and constructor
   * argument (InvalidProxyLine(line), InvalidProxyHeader(msg)).
   */
  | { kind: 'error'; message: string; exception: 'InvalidProxyLine' | 'InvalidProxyHeader'; detail: string };

/** HAProxy's worst case for a v1 line, "\r\n" included. */
export const V1_MAX_LENGTH = 107;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_HEADER = 16;
const CRLF = Buffer.from('\r\n', 'latin1');

const NONE: ProxyParse = { kind: 'none' };
const MORE: ProxyParse = { kind: 'more' };

/** --proxy-protocol's modes that read a header: Gunicorn 26 looks only for the version(s) named. */
export type ProxyMode = 'v1' | 'v2' | 'auto';

/** Reads a PROXY header off the start of `buf` (everything received so far). */
export function parseProxyHeader(buf: Buffer, mode: ProxyMode = 'auto'): ProxyParse {
  if (buf.length === 0) return MORE;
  const v1 = mode !== 'v2' && buf[0] === V1_PREFIX[0];
  const v2 = mode !== 'v1' && buf[0] === V2_SIGNATURE[0];
  const sig = v1 ? V1_PREFIX : v2 ? V2_SIGNATURE : null;
  if (sig === null) return NONE;
  const n = Math.min(buf.length, sig.length);
  if (buf.compare(sig, 0, n, 0, n) !== 0) return NONE;
  if (buf.length < sig.length) return MORE;
  return sig === V1_PREFIX ? parseV1(buf) : parseV2(buf);
}

// ---------------------------------------------------------------- v1

function parseV1(buf: Buffer): ProxyParse {
  const end = buf.subarray(0, V1_MAX_LENGTH).indexOf(CRLF);
  if (end === -1) return buf.length < V1_MAX_LENGTH ? MORE : invalidLine(buf.toString('latin1', 0, V1_MAX_LENGTH));
  // Gunicorn reads the line as latin-1 and splits it on single spaces.
  const line = buf.toString('latin1', 0, end);
  const bits = line.split(' ');
  if (bits.length !== 6) return invalidLine(line);
  const [, proto, src, dst, sport, dport] = bits as [string, string, string, string, string, string];
  if (proto !== 'TCP4' && proto !== 'TCP6') return invalidLine(`protocol '${proto}' not supported`);
  const valid = proto === 'TCP4' ? (a: string) => parseIPv4(a) !== null : (a: string) => parseIPv6(a) !== null;
  if (!valid(src) || !valid(dst)) return invalidLine(line);
  const clientPort = pyInt(sport);
  const proxyPort = pyInt(dport);
  if (clientPort === null || proxyPort === null || !isPort(clientPort) || !isPort(proxyPort)) {
    return invalidLine(`invalid port ${line}`);
  }
  return {
    kind: 'ok',
    info: { protocol: proto, clientAddr: src, clientPort, proxyAddr: dst, proxyPort },
    consumed: end + 2,
  };
}

const isPort = (n: number): boolean => n >= 0 && n <= 65535;

// Python's int(str): surrounding whitespace, a sign, digits with single underscores between them.
const PY_INT = /^[\t\n\v\f\r \x85\xa0]*([+-]?)([0-9](?:_?[0-9])*)[\t\n\v\f\r \x85\xa0]*$/;

function pyInt(s: string): number | null {
  const m = PY_INT.exec(s);
  if (!m) return null;
  const n = Number(m[2]!.replace(/_/g, ''));
  return m[1] === '-' ? -n : n;
}

function invalidLine(line: string): ProxyParse {
  return { kind: 'error', message: invalidProxyLine(line).message, exception: 'InvalidProxyLine', detail: line };
}

// ---------------------------------------------------------------- v2

// The low and high nibbles of bytes 12 and 13.
const Command = { LOCAL: 0x0, PROXY: 0x1 } as const;
const Family = { UNSPEC: 0x0, INET: 0x1, INET6: 0x2 } as const;
const STREAM = 0x1;

function parseV2(buf: Buffer): ProxyParse {
  if (buf.length < V2_HEADER) return MORE;
  const version = buf[12]! >> 4;
  if (version !== 2) return invalidHeader(`unsupported version ${version}`);
  const command = buf[12]! & 0x0f;
  if (command !== Command.LOCAL && command !== Command.PROXY) return invalidHeader(`unsupported command ${command}`);
  const length = buf.readUInt16BE(14);
  const consumed = V2_HEADER + length;
  const family = buf[13]! >> 4;
  const transport = buf[13]! & 0x0f;
  // Gunicorn reads the whole header before judging the rest; these answers depend on the first 16 bytes only.
  if (command === Command.PROXY) {
    if (transport !== STREAM) return invalidHeader('only TCP protocol is supported');
    if (family === Family.INET && length < 12) return invalidHeader('insufficient address data for IPv4');
    if (family === Family.INET6 && length < 36) return invalidHeader('insufficient address data for IPv6');
    if (family !== Family.INET && family !== Family.INET6 && family !== Family.UNSPEC) {
      return invalidHeader(`unsupported address family ${family}`);
    }
  }
  if (buf.length < consumed) return MORE;
  if (command === Command.LOCAL) return { kind: 'ok', info: unknownPeer('LOCAL'), consumed };
  if (family === Family.UNSPEC) return { kind: 'ok', info: unknownPeer('UNSPEC'), consumed };
  const a = V2_HEADER;
  if (family === Family.INET) {
    const info: ProxyInfo = {
      protocol: 'TCP4',
      clientAddr: formatIPv4(buf.readUInt32BE(a)),
      proxyAddr: formatIPv4(buf.readUInt32BE(a + 4)),
      clientPort: buf.readUInt16BE(a + 8),
      proxyPort: buf.readUInt16BE(a + 10),
    };
    return { kind: 'ok', info, consumed };
  }
  const hextets = (at: number) => Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(at + 2 * i));
  const info: ProxyInfo = {
    protocol: 'TCP6',
    clientAddr: formatIPv6(hextets(a), true),
    proxyAddr: formatIPv6(hextets(a + 16), true),
    clientPort: buf.readUInt16BE(a + 32),
    proxyPort: buf.readUInt16BE(a + 34),
  };
  return { kind: 'ok', info, consumed };
}

const unknownPeer = (protocol: 'LOCAL' | 'UNSPEC'): ProxyInfo => ({
  protocol,
  clientAddr: null,
  clientPort: null,
  proxyAddr: null,
  proxyPort: null,
});

function invalidHeader(msg: string): ProxyParse {
  return { kind: 'error', message: invalidProxyHeader(msg).message, exception: 'InvalidProxyHeader', detail: msg };
}
