// The access log, as Gunicorn's glogging.Logger.access writes it: the
// access_log_format is a Python %-format over Gunicorn's atoms, missing atoms
// print '-', and double quotes inside values are escaped.

import fs from 'node:fs';
import type { AccessRecord } from './access-record.js';
import { logTime, pad } from './log-clock.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Gunicorn's `t`: '[%d/%b/%Y:%H:%M:%S %z]' in local time. */
export function accessTimestamp(d: Date): string {
  const t = logTime(d);
  return `[${pad(t.day)}/${MONTHS[t.month - 1]}/${t.year}:${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)} ${t.offset}]`;
}

/** %XX-decodes a path, bytes as latin-1, as PATH_INFO is (Gunicorn's `U`). */
function pathInfo(path: string): string {
  if (!path.includes('%')) return path;
  return Buffer.from(path.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('latin1');
}

/** The user name of a Basic Authorization header (Gunicorn's `u`). */
function basicUser(headers: Map<string, string>): string | null {
  const auth = headers.get('authorization');
  if (!auth || !/^basic /i.test(auth)) return null;
  const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('latin1');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(0, colon) : null;
}

function pairs(flat: readonly string[]): Map<string, string> {
  // Gunicorn builds a dict: for a repeated name, the last one wins.
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) m.set(flat[i]!.toLowerCase(), flat[i + 1]!);
  return m;
}

/** Every atom of Gunicorn's access log for one request. */
export function accessAtoms(r: AccessRecord, pid: number, now = new Date(r.startedAt + r.durationUs / 1000)): Map<string, string> {
  const req = pairs(r.requestHeaders);
  const [target, query = ''] = r.target.split('#')[0]!.split(/\?(.*)/s, 2) as [string, string?];
  const path = /^[a-z][a-z0-9+.-]*:\/\//i.test(target) ? target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '') || '/' : target;
  const protocol = `HTTP/${r.httpVersion}`;
  const seconds = Math.floor(r.durationUs / 1e6);
  const micros = Math.floor(r.durationUs % 1e6);
  const atoms = new Map<string, string>([
    ['h', r.remoteAddress || '-'],
    ['l', '-'],
    ['u', basicUser(req) ?? '-'],
    ['t', accessTimestamp(now)],
    ['r', `${r.method} ${r.target} ${protocol}`],
    ['s', r.status ? String(r.status) : '-'],
    ['m', r.method],
    ['U', pathInfo(path)],
    ['q', query],
    ['H', protocol],
    ['b', String(r.bytesSent)],
    ['B', String(r.bytesSent)],
    ['f', req.get('referer') ?? '-'],
    ['a', req.get('user-agent') ?? '-'],
    ['T', String(seconds)],
    ['D', String(Math.floor(r.durationUs))],
    ['M', String(Math.floor(r.durationUs / 1000))],
    ['L', `${seconds}.${String(micros).padStart(6, '0')}`],
    ['p', `<${pid}>`],
  ]);
  for (const [k, v] of req) atoms.set(`{${k}}i`, v);
  for (const [k, v] of pairs(r.responseHeaders)) atoms.set(`{${k}}o`, v);
  for (const [k, v] of Object.entries(r.environ)) atoms.set(`{${k.toLowerCase()}}e`, v);
  return atoms;
}

/** The `{name}e` atoms a format uses, lower-cased: what Python must report per request. */
export function environAtoms(format: string): string[] {
  return [...new Set([...format.matchAll(/%\(\{([^}]*)\}e\)/g)].map((m) => m[1]!.toLowerCase()))];
}

/** Python's `format % SafeAtoms(atoms)`: %(name)s and %(name)d; '-' for a missing atom. */
export function formatAccess(format: string, atoms: Map<string, string>): string {
  return format.replace(/%(%|\(([^)]*)\)[-#0 +]*\d*(?:\.\d+)?[sdr])/g, (whole, _m: string, key?: string) => {
    if (key === undefined) return '%';
    const v = atoms.get(key.startsWith('{') ? key.toLowerCase() : key);
    return v === undefined ? '-' : v.replace(/"/g, '\\"');
  });
}

export class AccessLog {
  private fd: number;
  readonly environKeys: string[];

  constructor(
    private readonly target: string,
    private readonly format: string,
  ) {
    this.fd = target === '-' ? 1 : fs.openSync(target, 'a');
    this.environKeys = environAtoms(format);
  }

  write(r: AccessRecord): string {
    const line = formatAccess(this.format, accessAtoms(r, process.pid));
    try {
      fs.writeSync(this.fd, `${line}\n`);
    } catch {
      // A full disk or a closed stdout must not take the worker down.
    }
    return line;
  }

  /** USR1: the file was moved away (logrotate); continue in a new one at the same path. */
  reopen(): void {
    if (this.target === '-') return;
    const old = this.fd;
    this.fd = fs.openSync(this.target, 'a');
    fs.closeSync(old);
  }
}
