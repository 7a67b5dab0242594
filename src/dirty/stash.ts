// The stash (Gunicorn 26's dirty stash): named tables of key -> value kept in
// the dirty arbiter's memory, shared by every HTTP and dirty worker through
// STASH messages on the dirty socket. Operations, results and messages are
// those of Gunicorn's DirtyArbiter.handle_stash_request.
//
// One difference on the wire: for a missing key or table Gunicorn's arbiter
// means to answer error_type StashKeyNotFoundError / StashTableNotFoundError
// (it sets them on the error) but sends "DirtyError" (to_dict takes the class
// name), so its own client's get(table, key, default) raises instead of
// returning the default; these answers carry the names it sets.

import { Float, encode, type TlvValue } from './tlv.js';
import type { DirtyErrorInfo } from './protocol.js';

/** Gunicorn's STASH_OP_* codes. */
const OP = { put: 1, get: 2, delete: 3, keys: 4, clear: 5, info: 6, ensure: 7, deleteTable: 8, tables: 9, exists: 10 } as const;

type Table = Map<string, { key: TlvValue; value: TlvValue }>;

/** A key's identity: its TLV bytes (Python compares the decoded values; equal values encode alike). */
const identity = (key: TlvValue): string => encode(key).toString('latin1');

/** fnmatch.fnmatch on POSIX (case-sensitive): *, ?, [seq], [!seq]. */
export function fnmatch(name: string, pattern: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let set = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (set.startsWith('!')) set = '^' + set.slice(1);
        else if (set.startsWith('^')) set = '\\' + set;
        re += `[${set}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^(?:${re})$`, 's').test(name);
}

/** Python's str() of a key, for matching it against a pattern. */
function pyStr(key: TlvValue): string {
  if (key === null) return 'None';
  if (typeof key === 'boolean') return key ? 'True' : 'False';
  // Python's str() of an integral float: 3.0, but 1e+16 from 1e16 on.
  if (key instanceof Float) return Math.abs(key.value) < 1e16 ? key.value.toFixed(1) : String(key.value);
  return String(key);
}

export class Stash {
  private readonly tables = new Map<string, Table>();

  /** A stash message's payload to its result, or the error to answer. */
  run(payload: { [key: string]: TlvValue }): { result: TlvValue } | { error: DirtyErrorInfo } {
    const op = Number(payload.op);
    const table = typeof payload.table === 'string' ? payload.table : String(payload.table ?? '');
    const key = payload.key ?? null;
    const t = this.tables.get(table);
    const id = identity(key);
    switch (op) {
      case OP.put: {
        const target = t ?? new Map();
        this.tables.set(table, target);
        target.set(id, { key, value: payload.value ?? null });
        return { result: true };
      }
      case OP.get: {
        const entry = t?.get(id);
        if (!entry) return { error: { error_type: 'StashKeyNotFoundError', message: `Key not found: ${pyStr(key)}`, details: {} } };
        return { result: entry.value };
      }
      case OP.delete:
        return { result: t?.delete(id) ?? false };
      case OP.keys: {
        const keys = [...(t?.values() ?? [])].map((e) => e.key);
        const pattern = typeof payload.pattern === 'string' ? payload.pattern : '';
        return { result: pattern ? keys.filter((k) => fnmatch(pyStr(k), pattern)) : keys };
      }
      case OP.clear:
        t?.clear();
        return { result: true };
      case OP.info:
        if (!t) return { error: { error_type: 'StashTableNotFoundError', message: `Table not found: ${table}`, details: {} } };
        return { result: { size: t.size, table } };
      case OP.ensure:
        if (!t) this.tables.set(table, new Map());
        return { result: true };
      case OP.deleteTable:
        return { result: this.tables.delete(table) };
      case OP.tables:
        return { result: [...this.tables.keys()] };
      case OP.exists:
        return { result: t === undefined ? false : payload.key === undefined || payload.key === null ? true : t.has(id) };
      default:
        return { error: { error_type: 'DirtyError', message: `Unknown stash operation: ${payload.op}`, details: {} } };
    }
  }
}
