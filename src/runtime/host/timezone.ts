// Local time from the interpreter's TZ and the host's zoneinfo database, as
// glibc gives it to CPython. Emscripten's __tzset_js, __localtime_js and
// __mktime_js use the JS Date of the node process, whose zone is fixed when
// node starts (and shared by every thread): the app's TZ, at boot or set by
// `os.environ['TZ'] = ...; time.tzset()` (Django's TIME_ZONE), was ignored,
// and zone names came out as "UTC-0000". Here TZ is read from the
// interpreter's own environment (C getenv: what os.environ and putenv
// change) and resolved as glibc does: unset is /etc/localtime, "" is UTC,
// ":Zone" or "Zone" a file under TZDIR (/usr/share/zoneinfo), anything else a
// POSIX TZ string ("EST5EDT", "CET-1CEST,M3.5.0,M10.5.0/3"). tz-rules.ts
// computes; this module reads the files and fills the interpreter's struct tm.
//
// When TZ is read again follows glibc too: at the first call, at tzset()
// (time.tzset(), python/nicorn/host/timezone.py) and at mktime(); not at
// localtime_r(), so setting os.environ['TZ'] without time.tzset() leaves
// time.localtime() where it was, as on Debian's CPython.

import fs from 'node:fs';
import path from 'node:path';
import type { EmModule, WasmImports } from './module.js';
import { localtime, mktime, parsePosixTz, parseTzif, tzsetValues, utcZone, zoneOfRule, type Zone } from './tz-rules.js';

/** Where glibc looks for zone files (TZDIR overrides) and for the default zone. */
const TZDIR = '/usr/share/zoneinfo';
const TZDEFAULT = '/etc/localtime';
/** CPython's zoneinfo.TZPATH on Debian (sysconfig TZPATH); Pyodide's is the same (layout.ts mounts them). */
export const TZPATH = ['/usr/share/zoneinfo', '/usr/lib/zoneinfo', '/usr/share/lib/zoneinfo', '/etc/zoneinfo'];
/** The size of Emscripten's tzname buffers (std_name, dst_name: 16 characters and a NUL). */
const TZNAME_BUFFER = 17;

/** struct tm on wasm32: eleven 4-byte fields (tm_gmtoff is a 32-bit long). */
const TM = { sec: 0, min: 4, hour: 8, mday: 12, mon: 16, year: 20, wday: 24, yday: 28, isdst: 32, gmtoff: 36 } as const;

/**
 * The zone for a TZ value (null: unset), as glibc's tzset_internal resolves
 * it. `tzdir`: TZDIR from the environment, if any.
 */
export function resolveZone(tz: string | null, tzdir: string | null, read: (file: string) => Uint8Array | null = readFile): Zone {
  let name = tz === null ? TZDEFAULT : tz === '' ? 'Universal' : tz;
  if (name.startsWith(':')) name = name.slice(1);
  const file = path.isAbsolute(name) ? name : path.join(tzdir || TZDIR, name);
  const bytes = name ? read(file) : null;
  const zone = bytes ? parseTzif(bytes) : null;
  if (zone) return zone;
  if (tz === null || tz === '' || name === TZDEFAULT) return utcZone();
  const posix = parsePosixTz(name);
  return posix.rule ? zoneOfRule(posix.rule) : utcZone(posix.name);
}

function readFile(file: string): Uint8Array | null {
  try {
    return fs.readFileSync(file);
  } catch {
    return null;
  }
}

/**
 * The warning to log at boot when the host has no zoneinfo database (none of
 * TZPATH exists): what to install, for the app's zoneinfo and TZ. Null when
 * there is one.
 */
export function missingTimeZoneDatabase(exists: (dir: string) => boolean = fs.existsSync): string | null {
  if (TZPATH.some((dir) => exists(dir))) return null;
  return (
    `This host has no time zone database (none of ${TZPATH.join(', ')}): ` +
    "zoneinfo.ZoneInfo() finds no zone and TZ is read as UTC. Install the host's tzdata package " +
    '(Debian/Ubuntu: apt-get install tzdata; Alpine: apk add tzdata).'
  );
}

/** One interpreter's time zone: the TZ it was last read from and its zone. */
interface TzState {
  mod: EmModule;
  /** The TZ value the zone was made from (null: unset); undefined until first read. */
  tz?: string | null;
  tzdir?: string | null;
  zone: Zone;
  /** The offset mktime() found last: where it starts probing (glibc's localtime_offset). */
  guess: { offset: number };
  /** "TZ\0" and "TZDIR\0" in the interpreter's heap, for getenv. */
  names?: { tz: number; tzdir: number };
}

/**
 * The interpreters of this thread, for time.tzset(). Weakly held: an
 * interpreter given up (a failed restore, a snapshot maker's) takes its
 * heap with it.
 */
const states = new Set<WeakRef<TzState>>();

function getenv(state: TzState, which: 'tz' | 'tzdir'): string | null {
  const mod = state.mod as EmModule & { _getenv(name: number): number };
  if (!state.names) {
    const alloc = (s: string) => {
      const p = mod._malloc(s.length + 1);
      mod.stringToUTF8(s, p, s.length + 1);
      return p;
    };
    state.names = { tz: alloc('TZ'), tzdir: alloc('TZDIR') };
  }
  const p = mod._getenv(state.names[which]);
  return p ? mod.UTF8ToString(p) : null;
}

/** Told each time an interpreter of this thread reads TZ anew (glibc's tzset_internal). */
export type TimeZoneListener = (tz: string | null, tzdir: string | null) => void;

let zoneListener: TimeZoneListener | null = null;

/**
 * `listener` hears every zone an interpreter reads: its first read (at boot,
 * as CPython's time module is imported, the process's own TZ; restored from
 * a --preload snapshot, the TZ its app set as it was imported), then each
 * change, the app's `os.environ['TZ'] = ...; time.tzset()`. A worker's logs
 * follow it, as Gunicorn's strftime does in the worker's process
 * (python-thread.ts).
 */
export function onTimeZoneChange(listener: TimeZoneListener): void {
  zoneListener = listener;
}

/** Reads TZ again (glibc's tzset_internal): a new zone only when TZ changed. */
function refresh(state: TzState): void {
  const tz = getenv(state, 'tz');
  const tzdir = getenv(state, 'tzdir');
  if (state.tz !== undefined && tz === state.tz && tzdir === state.tzdir) return;
  state.tz = tz;
  state.tzdir = tzdir;
  state.zone = resolveZone(tz, tzdir);
  zoneListener?.(tz, tzdir);
}

function ensureRead(state: TzState): Zone {
  if (state.tz === undefined) refresh(state);
  return state.zone;
}

/** Writes a zone name into one of Emscripten's tzname buffers (at most 16 bytes). */
function writeName(mod: EmModule, ptr: number, name: string): void {
  if (ptr) mod.stringToUTF8(name, ptr, TZNAME_BUFFER);
}

/** The pointer tzname[i] holds (Emscripten's static std_name / dst_name buffers). */
function tznamePtr(mod: EmModule, i: 0 | 1): number {
  const base = (mod as EmModule & { _tzname?: number })._tzname;
  return base ? mod.HEAPU32[(base >>> 2) + i]! : 0;
}

/** Re-reads TZ in every interpreter of this thread: time.tzset(). */
export function reloadTimeZones(): void {
  for (const ref of states) {
    const state = ref.deref();
    if (state) refresh(state);
    else states.delete(ref);
  }
}

export function patchTimeZone(imports: WasmImports, mod: EmModule): void {
  const state: TzState = { mod, zone: utcZone(), guess: { offset: 0 } };
  states.add(new WeakRef(state));

  imports._tzset_js = (timezonePtr: number, daylightPtr: number, stdName: number, dstName: number): void => {
    const v = tzsetValues(ensureRead(state));
    mod.HEAP32[timezonePtr >>> 2] = v.timezone;
    mod.HEAP32[daylightPtr >>> 2] = v.daylight ? 1 : 0;
    writeName(mod, stdName, v.tzname[0]);
    writeName(mod, dstName, v.tzname[1]);
  };

  imports._localtime_js = (time: bigint, tmPtr: number): void => {
    const tm = localtime(ensureRead(state), Number(time));
    const h = mod.HEAP32;
    const at = tmPtr >>> 2;
    h[at + TM.sec / 4] = tm.sec;
    h[at + TM.min / 4] = tm.min;
    h[at + TM.hour / 4] = tm.hour;
    h[at + TM.mday / 4] = tm.mday;
    h[at + TM.mon / 4] = tm.mon;
    h[at + TM.year / 4] = tm.year;
    h[at + TM.wday / 4] = tm.wday;
    h[at + TM.yday / 4] = tm.yday;
    h[at + TM.isdst / 4] = tm.isdst;
    h[at + TM.gmtoff / 4] = tm.gmtoff;
    // Emscripten's localtime_r points tm_zone at tzname[tm_isdst]: as glibc
    // does, that buffer now holds the name in effect at this time.
    writeName(mod, tznamePtr(mod, tm.isdst ? 1 : 0), tm.zone);
  };

  imports._mktime_js = (tmPtr: number): bigint => {
    refresh(state); // glibc's mktime calls tzset()
    const h = mod.HEAP32;
    const at = tmPtr >>> 2;
    const t = mktime(
      state.zone,
      { year: h[at + 5]!, mon: h[at + 4]!, mday: h[at + 3]!, hour: h[at + 2]!, min: h[at + 1]!, sec: h[at]! },
      h[at + 8]!,
      state.guess,
    );
    if (Number.isNaN(t)) return -1n; // tm_wday left as it was: CPython raises OverflowError
    (imports._localtime_js as (time: bigint, tmPtr: number) => void)(BigInt(t), tmPtr);
    return BigInt(t);
  };
}

/** What `_nicorn_host` offers python/nicorn/host/timezone.py. */
export const TIMEZONE = {
  tz_reload: (): void => reloadTimeZones(),
  tz_missing_database: (): string | undefined => missingTimeZoneDatabase() ?? undefined,
};
