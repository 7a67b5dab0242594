// Validators turn a raw value into the setting's type, as Gunicorn's
// validate_* functions do. A raw value is a command-line string, or a
// config-file value (number, boolean, list, dict, None), so every validator
// takes both. They throw a SettingError (the reason; resolveSettings adds the
// setting's name and the value) or a ConfigError (a whole message, printed
// as it is).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseNetwork } from './networks.js';

/** Why a value is invalid; shown as `Invalid value for NAME: VALUE (reason)`. */
export class SettingError extends Error {}

/** A configuration error whose message is complete as it is. */
export class ConfigError extends Error {}

// ---------------------------------------------------------------- Python's str() and repr()

/** Python's repr() of a str: single quotes unless the text has ' and no ". */
export function reprString(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += `\\${q}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    // Not printable for Python: C0, DEL, C1, no-break space, soft hyphen.
    else if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c === 0xad) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + q;
}

function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Python's repr() of a JSON-like value: None, True, 'text', [1, 'a'], {'k': 'v'}. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return reprString(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Number.isFinite(v) ? String(v) : v > 0 ? 'inf' : v < 0 ? '-inf' : 'nan';
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (isDict(v)) return `{${Object.entries(v).map(([k, x]) => `${reprString(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return reprString(String(v));
}

/** Python's str(): a str is itself, everything else is its repr(). */
export function pyStr(v: unknown): string {
  return typeof v === 'string' ? v : pyRepr(v);
}

/** Python's truth value of a JSON-like value. */
function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isDict(v)) return Object.keys(v).length > 0;
  return Boolean(v);
}

// ---------------------------------------------------------------- scalars

/** validate_string: a str, stripped. */
export function string(raw: unknown): string {
  if (typeof raw !== 'string') throw new SettingError('Not a string');
  return raw.trim();
}

/** validate_string where Gunicorn's default is None. */
export function optString(raw: unknown): string | null {
  return raw === null || raw === undefined ? null : string(raw);
}

// int(x, 0): an optional sign, then 0x/0o/0b or a decimal without leading zeros; `_` between digits.
const PY_INT = /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0(?:_?0)*|[1-9](?:_?[0-9])*)$/;

function parseInt0(s: string): number | null {
  const m = PY_INT.exec(s.trim());
  if (!m) return null;
  const body = m[2]!.replace(/_/g, '');
  const n = /^0[xob]/i.test(body) ? Number(body.toLowerCase()) : Number(body);
  return m[1] === '-' ? -n : n;
}

/** validate_pos_int: an int (True is 1), or a string int(value, 0) reads; not negative. */
export function posInt(raw: unknown): number {
  let n: number | null;
  if (typeof raw === 'boolean') n = raw ? 1 : 0;
  else if (typeof raw === 'number') n = Number.isInteger(raw) ? raw : null;
  else if (typeof raw === 'string') n = parseInt0(raw);
  else n = null;
  if (n === null) throw new SettingError('not an integer');
  if (n < 0) throw new SettingError('Value must be positive');
  return n;
}

/** --umask's auto_int: a string with a leading 0 is octal (0022), as in Gunicorn. */
export function umask(raw: unknown): number {
  if (typeof raw === 'string' && /^\s*0\d/.test(raw)) return posInt(raw.trim().replace('0', '0o'));
  return posInt(raw);
}

/** validate_bool: True/False, or the strings "true"/"false" in any case; None stays None. */
export function bool(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw !== 'string') throw new SettingError('Invalid type for casting');
  const s = raw.trim().toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw new SettingError('Invalid boolean');
}

export function optBool(raw: unknown): boolean | null {
  return raw === null || raw === undefined ? null : bool(raw);
}

/** validate_dict. */
export function dict(raw: unknown): Record<string, unknown> {
  if (!isDict(raw)) throw new SettingError('Value is not a dictionary');
  return raw;
}

export function oneOf<T extends string>(choices: readonly T[]) {
  return (raw: unknown): T => {
    const s = string(raw).toLowerCase();
    if (!(choices as readonly string[]).includes(s)) throw new SettingError(`not one of ${choices.join(', ')}`);
    return s as T;
  };
}

// ---------------------------------------------------------------- lists

/** validate_list_string: a falsy value is [], a str is [str], a list is each item stripped. */
export function stringList(raw: unknown): string[] {
  if (!truthy(raw)) return [];
  if (typeof raw === 'string') return [string(raw)];
  if (!Array.isArray(raw)) throw new SettingError('Not a list of strings');
  return raw.map(string);
}

/** validate_string_to_list: a comma-separated string (or None: []); a list of strings is taken too. */
export function stringToList(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map(string);
  const s = optString(raw);
  if (!s) return [];
  return s
    .split(',')
    .filter((v) => v !== '')
    .map((v) => v.trim());
}

/**
 * validate_string_to_addr_list (Gunicorn 24.1.1+): comma-separated IP
 * addresses or networks (10.0.0.0/8, fd00::/8), or '*', kept as written.
 * Each is ipaddress.ip_network(entry) in strict mode, so 10.0.0.1/8 (host
 * bits set) is refused, with Python's messages.
 */
export function addrList(raw: unknown): string[] {
  const list = stringToList(raw);
  for (const addr of list) {
    if (addr === '*') continue;
    const parsed = parseNetwork(addr);
    if (parsed.kind === 'invalid') throw new SettingError(`${pyRepr(addr)} does not appear to be an IPv4 or IPv6 network`);
    if (parsed.kind === 'host-bits') throw new SettingError(`${parsed.text} has host bits set`);
  }
  return list;
}

/** --pythonpath: Gunicorn keeps the string and splits it on ','; nicorn-py keeps the parts (a list is taken too). */
export function commaList(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map(string).filter(Boolean);
  if (raw === null) return [];
  return string(raw)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** validate_list_of_existing_files. */
export function existingFiles(raw: unknown): string[] {
  const files = stringList(raw);
  for (const f of files) if (!fs.existsSync(f)) throw new SettingError(`File ${f} does not exists.`);
  return files;
}

/** raw_env: KEY=VALUE strings; Gunicorn's message for one without '='. */
export function envList(raw: unknown): string[] {
  const list = stringList(raw);
  for (const e of list) {
    if (e.indexOf('=') < 1) throw new ConfigError(`environment setting ${pyRepr(e)} invalid`);
  }
  return list;
}

/** raw_env as a dict, as Gunicorn's Config.env. */
export function envPairs(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list) {
    const i = e.indexOf('=');
    if (i < 1) throw new ConfigError(`environment setting ${pyRepr(e)} invalid`);
    out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

// ---------------------------------------------------------------- paths, users

/** validate_chdir: made absolute against the current directory; it must exist. */
export function chdir(raw: unknown): string {
  const s = string(raw);
  const abs = path.resolve(process.cwd(), s);
  if (!fs.existsSync(abs)) throw new ConfigError(`can't chdir to ${pyRepr(s)}`);
  return abs;
}

/**
 * tmp_upload_dir: Gunicorn's validate_string, and (nicorn-py, whose workers
 * spool request bodies there) an existing directory, made absolute.
 */
export function optDirectory(raw: unknown): string | null {
  const s = optString(raw);
  if (s === null) return null;
  const abs = path.resolve(process.cwd(), s);
  let isDir = false;
  try {
    isDir = fs.statSync(abs).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new SettingError(`${pyRepr(s)} is not a directory`);
  return abs;
}

/** Looks NAME up in /etc/passwd or /etc/group (field 2 is the id), as pwd/grp do for local names. */
function lookupId(file: string, name: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return null;
}

function idOf(kind: 'user' | 'group', raw: unknown, current: () => number): number {
  if (raw === null || raw === undefined) return current();
  if (typeof raw === 'number' && Number.isInteger(raw)) return raw;
  if (typeof raw !== 'string') throw new SettingError('not a name or an id');
  if (/^\d+$/.test(raw)) return Number(raw);
  if (kind === 'user' && raw === safeUserName()) return current();
  const id = lookupId(kind === 'user' ? '/etc/passwd' : '/etc/group', raw);
  if (id === null) throw new ConfigError(`No such ${kind}: ${pyRepr(raw)}`);
  return id;
}

function safeUserName(): string | null {
  try {
    return os.userInfo().username;
  } catch {
    return null;
  }
}

export const euid = (): number => process.geteuid?.() ?? 0;
export const egid = (): number => process.getegid?.() ?? 0;

/** validate_user: an id, or a user name. */
export function user(raw: unknown): number {
  return idOf('user', raw, euid);
}

/** validate_group: an id, or a group name. */
export function group(raw: unknown): number {
  return idOf('group', raw, egid);
}

// ---------------------------------------------------------------- hooks

/** A server hook as the registry holds it: true when the config file defines it. */
export function hookFlag(raw: unknown): boolean {
  if (typeof raw !== 'boolean') {
    throw new SettingError('a server hook is set by defining a function of that name in the config file');
  }
  return raw;
}

/** Structural equality of JSON-like values (for "is this the default?"). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (isDict(a) && isDict(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && sameValue(a[k], b[k]));
  }
  return false;
}
