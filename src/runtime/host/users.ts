// The host's user and group databases, for python/nicorn/host/users.py's
// `pwd` and `grp` modules (Pyodide's CPython is built without them; CPython
// on Linux has them, and libraries import them unconditionally: Gunicorn's
// util.py, which its gunicorn.dirty client imports, is one). Answered by the
// host's C library (getpwnam_r and friends, so NSS sources count too), as
// JSON records with the struct's field names.

import koffi from 'koffi';
import { libc } from './libc.js';

/** struct passwd and struct group on 64-bit Linux. Anonymous: koffi's type names are process-wide. */
const Passwd = koffi.struct({
  pw_name: 'const char *',
  pw_passwd: 'const char *',
  pw_uid: 'uint32_t',
  pw_gid: 'uint32_t',
  pw_gecos: 'const char *',
  pw_dir: 'const char *',
  pw_shell: 'const char *',
});
const Group = koffi.struct({
  gr_name: 'const char *',
  gr_passwd: 'const char *',
  gr_gid: 'uint32_t',
  gr_mem: 'void *',
});

type Lookup = (key: string | number, entry: Buffer, buf: Buffer, len: number, result: unknown[]) => number;
type Next = (entry: Buffer, buf: Buffer, len: number, result: unknown[]) => number;

interface HostUsers {
  getpwnam_r: Lookup;
  getpwuid_r: Lookup;
  getgrnam_r: Lookup;
  getgrgid_r: Lookup;
  setpwent: () => void;
  getpwent_r: Next;
  endpwent: () => void;
  setgrent: () => void;
  getgrent_r: Next;
  endgrent: () => void;
}

let calls: HostUsers | null = null;

function hostUsers(): HostUsers {
  if (calls) return calls;
  const lib = libc();
  const lookup = (name: string, key: string) => lib.func(`int ${name}(${key}, void *, void *, size_t, _Out_ void **)`) as never;
  calls = {
    getpwnam_r: lookup('getpwnam_r', 'const char *'),
    getpwuid_r: lookup('getpwuid_r', 'uint32_t'),
    getgrnam_r: lookup('getgrnam_r', 'const char *'),
    getgrgid_r: lookup('getgrgid_r', 'uint32_t'),
    setpwent: lib.func('void setpwent(void)') as never,
    getpwent_r: lib.func('int getpwent_r(void *, void *, size_t, _Out_ void **)') as never,
    endpwent: lib.func('void endpwent(void)') as never,
    setgrent: lib.func('void setgrent(void)') as never,
    getgrent_r: lib.func('int getgrent_r(void *, void *, size_t, _Out_ void **)') as never,
    endgrent: lib.func('void endgrent(void)') as never,
  };
  return calls;
}

const ERANGE = 34;
/** Room for the strings of one entry; doubled on ERANGE (a group with many members). */
const FIRST_BUFFER = 16 * 1024;

export interface PasswdRecord {
  pw_name: string;
  pw_passwd: string;
  pw_uid: number;
  pw_gid: number;
  pw_gecos: string;
  pw_dir: string;
  pw_shell: string;
}

export interface GroupRecord {
  gr_name: string;
  gr_passwd: string;
  gr_gid: number;
  gr_mem: string[];
}

function passwd(entry: Buffer): PasswdRecord {
  const p = koffi.decode(entry, Passwd) as Record<string, string | number | null>;
  const s = (k: string) => (p[k] as string | null) ?? '';
  return {
    pw_name: s('pw_name'), pw_passwd: s('pw_passwd'), pw_uid: p.pw_uid as number, pw_gid: p.pw_gid as number,
    pw_gecos: s('pw_gecos'), pw_dir: s('pw_dir'), pw_shell: s('pw_shell'),
  };
}

function group(entry: Buffer): GroupRecord {
  const g = koffi.decode(entry, Group) as { gr_name: string | null; gr_passwd: string | null; gr_gid: number; gr_mem: unknown };
  const members: string[] = [];
  if (g.gr_mem) {
    // A NULL-terminated array of char *: each slot read as a string (null at the end).
    for (let i = 0; ; i++) {
      const member = koffi.decode(g.gr_mem, i * 8, 'const char *') as string | null;
      if (member === null) break;
      members.push(member);
    }
  }
  return { gr_name: g.gr_name ?? '', gr_passwd: g.gr_passwd ?? '', gr_gid: g.gr_gid, gr_mem: members };
}

/** One lookup, retried with a bigger buffer on ERANGE; null when there is no such entry. Other errors throw. */
function one<T>(call: (entry: Buffer, buf: Buffer, len: number, out: unknown[]) => number, size: number, read: (b: Buffer) => T): T | null {
  for (let len = FIRST_BUFFER; ; len *= 2) {
    const entry = Buffer.alloc(size);
    const buf = Buffer.alloc(len);
    const out: unknown[] = [null];
    const rc = call(entry, buf, len, out);
    if (rc === ERANGE && len < 64 * 1024 * 1024) continue;
    if (rc !== 0 && rc !== 2 /* ENOENT */) throw new Error(`host user database: error ${rc}`);
    return out[0] ? read(entry) : null;
  }
}

function all<T>(set: () => void, next: Next, end: () => void, size: number, read: (b: Buffer) => T): T[] {
  const out: T[] = [];
  set();
  try {
    for (;;) {
      const got = one((e, b, l, r) => next(e, b, l, r), size, read);
      if (got === null) break;
      out.push(got);
    }
  } finally {
    end();
  }
  return out;
}

const PASSWD_SIZE = koffi.sizeof(Passwd);
const GROUP_SIZE = koffi.sizeof(Group);

/** Functions of `_nicorn_host` (python-api.ts); each answers JSON: a record, null, or a list. */
export const USERS_API = {
  pwd_getpwnam: (name: string): string => JSON.stringify(one((e, b, l, r) => hostUsers().getpwnam_r(name, e, b, l, r), PASSWD_SIZE, passwd)),
  pwd_getpwuid: (uid: number): string => JSON.stringify(one((e, b, l, r) => hostUsers().getpwuid_r(uid, e, b, l, r), PASSWD_SIZE, passwd)),
  pwd_getpwall: (): string => {
    const h = hostUsers();
    return JSON.stringify(all(h.setpwent, h.getpwent_r, h.endpwent, PASSWD_SIZE, passwd));
  },
  grp_getgrnam: (name: string): string => JSON.stringify(one((e, b, l, r) => hostUsers().getgrnam_r(name, e, b, l, r), GROUP_SIZE, group)),
  grp_getgrgid: (gid: number): string => JSON.stringify(one((e, b, l, r) => hostUsers().getgrgid_r(gid, e, b, l, r), GROUP_SIZE, group)),
  grp_getgrall: (): string => {
    const h = hostUsers();
    return JSON.stringify(all(h.setgrent, h.getgrent_r, h.endgrent, GROUP_SIZE, group));
  },
};
