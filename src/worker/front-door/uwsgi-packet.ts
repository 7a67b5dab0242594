// The uwsgi packet (what nginx's uwsgi_pass sends) read as Gunicorn 26.2.2's
// gunicorn/uwsgi/message.py reads it: a 4-byte header (modifier1, datasize
// as 16-bit little-endian, modifier2), a vars block of datasize bytes
// (key_size LE16, key, val_size LE16, value; latin-1), then CONTENT_LENGTH
// body bytes. Only modifier1 = 0 (a WSGI request) is served; modifier2 is
// read and ignored, as there.
//
// This module only parses: which peers may speak uwsgi, what the front door
// answers and how the request reaches Python are uwsgi-door.ts's.

/** Gunicorn's MAX_UWSGI_VARS: more variables than this is an invalid header. */
export const MAX_UWSGI_VARS = 1000;

/** One of gunicorn/uwsgi/errors.py's exceptions: its class and str(). */
export class UwsgiError extends Error {
  constructor(
    /** The exception's class as a Python traceback's last line names it. */
    readonly pythonClass: string,
    message: string,
  ) {
    super(message);
  }
}

export const invalidUwsgiHeader = (msg: string) =>
  new UwsgiError('gunicorn.uwsgi.errors.InvalidUWSGIHeader', `Invalid uWSGI header: ${msg}`);
export const unsupportedModifier = (modifier: number) =>
  new UwsgiError('gunicorn.uwsgi.errors.UnsupportedModifier', `Unsupported uWSGI modifier1: ${modifier}`);
/** str() of ForbiddenUWSGIRequest: Python's repr of the address, in single quotes. */
export const forbiddenUwsgiRequest = (host: string) =>
  new UwsgiError('gunicorn.uwsgi.errors.ForbiddenUWSGIRequest', `uWSGI request from '${host}' not allowed`);

/** A packet's header and vars, in the order they were sent. */
export interface UwsgiPacket {
  modifier1: number;
  modifier2: number;
  /** Keys and values in sending order; a key sent twice keeps its last value (a Python dict). */
  vars: Map<string, string>;
  /** Bytes of the header and the vars block; the body follows. */
  consumed: number;
}

export type PacketRead = { kind: 'more' } | { kind: 'error'; error: UwsgiError } | { kind: 'packet'; packet: UwsgiPacket };

/**
 * Reads a packet's header and vars from the start of `buf`. `ended` says no
 * more bytes will come (the peer closed): a short header or vars block is then
 * Gunicorn's "incomplete header" / "incomplete vars block".
 */
export function readPacket(buf: Buffer, ended: boolean): PacketRead {
  if (buf.length < 4) return ended ? { kind: 'error', error: invalidUwsgiHeader('incomplete header') } : { kind: 'more' };
  const modifier1 = buf[0]!;
  const datasize = buf.readUInt16LE(1);
  const modifier2 = buf[3]!;
  // Gunicorn refuses the modifier before it reads the vars block.
  if (modifier1 !== 0) return { kind: 'error', error: unsupportedModifier(modifier1) };
  if (buf.length < 4 + datasize) {
    return ended ? { kind: 'error', error: invalidUwsgiHeader('incomplete vars block') } : { kind: 'more' };
  }
  try {
    const vars = parseVars(buf.subarray(4, 4 + datasize));
    return { kind: 'packet', packet: { modifier1, modifier2, vars, consumed: 4 + datasize } };
  } catch (e) {
    if (e instanceof UwsgiError) return { kind: 'error', error: e };
    throw e;
  }
}

/** _parse_vars: key_size + key + val_size + value, repeated to the block's end. */
export function parseVars(data: Buffer): Map<string, string> {
  const vars = new Map<string, string>();
  let pos = 0;
  let count = 0;
  while (pos < data.length) {
    if (count >= MAX_UWSGI_VARS) throw invalidUwsgiHeader('too many variables');
    if (pos + 2 > data.length) throw invalidUwsgiHeader('truncated key size');
    const keySize = data.readUInt16LE(pos);
    pos += 2;
    if (pos + keySize > data.length) throw invalidUwsgiHeader('truncated key');
    const key = data.toString('latin1', pos, pos + keySize);
    pos += keySize;
    if (pos + 2 > data.length) throw invalidUwsgiHeader('truncated value size');
    const valSize = data.readUInt16LE(pos);
    pos += 2;
    if (pos + valSize > data.length) throw invalidUwsgiHeader('truncated value');
    const value = data.toString('latin1', pos, pos + valSize);
    pos += valSize;
    // A dict: a repeated key moves nothing, its value is replaced.
    vars.set(key, value);
    count++;
  }
  return vars;
}

/** What Gunicorn's UWSGIRequest makes of the vars (_extract_request_info, set_body_reader, should_close). */
export interface UwsgiRequestInfo {
  method: string;
  /** PATH_INFO as sent (nginx's $document_uri: already percent-decoded). */
  path: string;
  query: string;
  /** Gunicorn's req.uri: path, then "?query" when there is one (RAW_URI). */
  uri: string;
  /** https when HTTPS is on/1/true, else the wsgi.url_scheme var, else the listener's. */
  scheme: string;
  /** Header names (HTTP_X_Y -> X-Y; CONTENT-TYPE, CONTENT-LENGTH) and values, alternating, in vars order. */
  headers: string[];
  /** Body bytes after the vars: CONTENT_LENGTH as Python's int() reads it, 0 if not a number, never negative. */
  contentLength: number;
  /** HTTP_CONNECTION is "close". */
  close: boolean;
}

/** Python's int() on a str: surrounding whitespace, a sign, digits with single underscores between. */
function pythonInt(s: string): number | null {
  const m = /^\s*([+-]?)(\d+(?:_\d+)*)\s*$/.exec(s);
  if (!m) return null;
  const n = Number(m[2]!.replace(/_/g, ''));
  return m[1] === '-' ? -n : n;
}

export function requestInfo(vars: ReadonlyMap<string, string>, listenerScheme: 'http' | 'https'): UwsgiRequestInfo {
  const method = vars.get('REQUEST_METHOD') ?? 'GET';
  const path = vars.get('PATH_INFO') ?? '/';
  const query = vars.get('QUERY_STRING') ?? '';
  let scheme: string = listenerScheme;
  if (['on', '1', 'true'].includes((vars.get('HTTPS') ?? '').toLowerCase())) scheme = 'https';
  else if (vars.has('wsgi.url_scheme')) scheme = vars.get('wsgi.url_scheme')!;
  const headers: string[] = [];
  for (const [key, value] of vars) {
    if (key.startsWith('HTTP_')) headers.push(key.slice(5).replace(/_/g, '-'), value);
    else if (key === 'CONTENT_TYPE') headers.push('CONTENT-TYPE', value);
    else if (key === 'CONTENT_LENGTH') headers.push('CONTENT-LENGTH', value);
  }
  const declared = vars.has('CONTENT_LENGTH') ? pythonInt(vars.get('CONTENT_LENGTH')!) : 0;
  return {
    method,
    path,
    query,
    uri: query ? `${path}?${query}` : path,
    scheme,
    headers,
    contentLength: Math.max(declared ?? 0, 0),
    close: (vars.get('HTTP_CONNECTION') ?? '').toLowerCase() === 'close',
  };
}

/**
 * Gunicorn's uwsgi_allow_ips check: the peer's address as a string in the
 * list (entries are not networks there: "10.0.0.0/8" passes the validator and
 * matches no peer), '*' allows everyone, a unix socket (no address) always
 * passes. An IPv4 peer that node reports in its IPv4-mapped IPv6 form
 * (::ffff:a.b.c.d, a dual-stack socket) is compared as the IPv4 address
 * Gunicorn's IPv4 socket would have given.
 */
export function uwsgiPeerAllowed(peer: string | null, allowed: readonly string[]): boolean {
  if (peer === null || allowed.includes('*')) return true;
  if (allowed.includes(peer)) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(peer);
  return mapped !== null && allowed.includes(mapped[1]!);
}
