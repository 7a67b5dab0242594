// The local time of log lines (the error log's timestamps, the access log's
// `t`), as Gunicorn gets it from time.strftime: from TZ as glibc reads it
// (host/timezone.ts, tz-rules.ts), not from JS Date's local zone. node fixes
// Date's zone from TZ when it starts, per thread, and ICU takes zone names
// only (TZ=CET-1CEST,M3.5.0,M10.5.0/3, a POSIX rule glibc reads, gave UTC).
// A process's zone changes when Python in it sets TZ and calls time.tzset(),
// as in Gunicorn's master (a hook: config/interpreter.ts) or in a worker
// (Django's TIME_ZONE, as its settings load: bridge/python-thread.ts):
// setLogTimeZone.

import { resolveZone } from '../runtime/host/timezone.js';
import { localtime, type Zone } from '../runtime/host/tz-rules.js';

/** A moment as a log line shows it. */
export interface LogTime {
  year: number;
  /** 1-12. */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** The UTC offset as %z writes it: "+0100". */
  offset: string;
}

let zone: { key: string; zone: Zone } | null = null;
/** The last second shown: log lines come many to a second (the access log's, one a request). */
let last: { second: number; time: LogTime } | null = null;

/**
 * From now on this thread's log lines show local time in `tz` (null: unset,
 * /etc/localtime), as glibc resolves it. False when that was their zone already.
 */
export function setLogTimeZone(tz: string | null, tzdir: string | null): boolean {
  if (!zone) processZone();
  const key = `${tz}\0${tzdir}`;
  if (zone!.key === key) return false;
  zone = { key, zone: resolveZone(tz, tzdir) };
  last = null;
  return true;
}

/** The zone of the process's environment, where a thread's logs start. */
function processZone(): void {
  const tz = process.env.TZ ?? null;
  const tzdir = process.env.TZDIR ?? null;
  zone = { key: `${tz}\0${tzdir}`, zone: resolveZone(tz, tzdir) };
}

/** `n` in two digits or more, as strftime's %d, %H, ... write it. */
export const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `d` in this thread's log zone (at first, TZ and TZDIR of the process's environment). */
export function logTime(d: Date): LogTime {
  if (!zone) processZone();
  const second = Math.floor(d.getTime() / 1000);
  if (last?.second === second) return last.time;
  const tm = localtime(zone!.zone, second);
  const abs = Math.abs(tm.gmtoff) / 60;
  const time: LogTime = {
    year: tm.year + 1900,
    month: tm.mon + 1,
    day: tm.mday,
    hour: tm.hour,
    minute: tm.min,
    second: tm.sec,
    offset: `${tm.gmtoff < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`,
  };
  last = { second, time };
  return time;
}
