// Local time as glibc computes it from TZ: a compiled zone file of the host's
// zoneinfo database (TZif, RFC 8536) or a POSIX TZ string ("EST5EDT",
// "CET-1CEST,M3.5.0,M10.5.0/3", "<+0330>-3:30"). Pure: bytes and numbers in,
// numbers out; timezone.ts reads the files and talks to the interpreter.
//
// Offsets are seconds east of UTC (struct tm's tm_gmtoff); times are seconds
// since the epoch (JS numbers: exact to 2**53).

/** One local time type of a zone: what localtime() reports. */
export interface TimeType {
  offset: number;
  isdst: boolean;
  abbr: string;
}

/** When a POSIX rule changes (Jn, n or Mm.w.d) and at what local time of day. */
export type RuleDate =
  | { kind: 'julian1'; day: number; secs: number } // Jn: 1..365, February 29 never counted
  | { kind: 'julian0'; day: number; secs: number } // n: 0..365
  | { kind: 'month'; month: number; week: number; wday: number; secs: number }; // Mm.w.d

export interface PosixRule {
  std: TimeType;
  /** With the dates DST starts and ends; absent when the zone has no DST. */
  dst?: { type: TimeType; start: RuleDate; end: RuleDate };
}

export interface Zone {
  /** Transition times, ascending, and the type each one starts. */
  transitions: number[];
  typeIndex: number[];
  types: TimeType[];
  /** What applies after the last transition (a TZif footer, or the whole of a TZ string). */
  rule: PosixRule | null;
}

/** What tzset() leaves in timezone, daylight and tzname (glibc's __tzfile_read / __tzset_parse_tz). */
export interface TzsetValues {
  timezone: number;
  daylight: boolean;
  tzname: [string, string];
}

// ---------------------------------------------------------------- TZif

/** Parses a compiled zone file; null when `buf` is not one. */
export function parseTzif(buf: Uint8Array): Zone | null {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = (at: number) => buf.length >= at + 44 && String.fromCharCode(...buf.subarray(at, at + 4)) === 'TZif';
  if (!magic(0)) return null;
  const header = (at: number) => ({
    version: buf[at + 4]!,
    isutcnt: dv.getUint32(at + 20),
    isstdcnt: dv.getUint32(at + 24),
    leapcnt: dv.getUint32(at + 28),
    timecnt: dv.getUint32(at + 32),
    typecnt: dv.getUint32(at + 36),
    charcnt: dv.getUint32(at + 40),
  });
  let h = header(0);
  let at = 44;
  let timeSize = 4;
  const v1Length = (x: typeof h, ts: number) =>
    x.timecnt * ts + x.timecnt + x.typecnt * 6 + x.charcnt + x.leapcnt * (ts + 4) + x.isstdcnt + x.isutcnt;
  if (h.version >= 0x32 /* '2' */) {
    // Version 2+: skip the 32-bit block for the 64-bit one that follows it.
    at += v1Length(h, 4);
    if (!magic(at)) return null;
    h = header(at);
    at += 44;
    timeSize = 8;
  }
  if (at + v1Length(h, timeSize) > buf.length || h.typecnt === 0) return null;
  const transitions: number[] = [];
  for (let i = 0; i < h.timecnt; i++, at += timeSize) {
    transitions.push(timeSize === 8 ? Number(dv.getBigInt64(at)) : dv.getInt32(at));
  }
  const typeIndex = Array.from(buf.subarray(at, at + h.timecnt));
  at += h.timecnt;
  const raw: { offset: number; isdst: boolean; abbrAt: number }[] = [];
  for (let i = 0; i < h.typecnt; i++, at += 6) {
    raw.push({ offset: dv.getInt32(at), isdst: buf[at + 4] !== 0, abbrAt: buf[at + 5]! });
  }
  const chars = buf.subarray(at, at + h.charcnt);
  at += h.charcnt + h.leapcnt * (timeSize + 4) + h.isstdcnt + h.isutcnt;
  const abbrOf = (i: number) => {
    const end = chars.indexOf(0, i);
    return String.fromCharCode(...chars.subarray(i, end < 0 ? chars.length : end));
  };
  const types = raw.map((t) => ({ offset: t.offset, isdst: t.isdst, abbr: abbrOf(t.abbrAt) }));
  let rule: PosixRule | null = null;
  if (timeSize === 8 && buf[at] === 0x0a) {
    const end = buf.indexOf(0x0a, at + 1);
    const footer = String.fromCharCode(...buf.subarray(at + 1, end < 0 ? buf.length : end));
    if (footer) rule = parsePosixTz(footer)?.rule ?? null;
  }
  return { transitions, typeIndex, types, rule };
}

// ---------------------------------------------------------------- POSIX TZ strings

const DEFAULT_RULE = 'M3.2.0,M11.1.0'; // glibc's when a DST zone names no rule (and no posixrules file)

/**
 * Parses a POSIX TZ string as glibc's __tzset_parse_tz does. `rule` is null
 * when not even the standard time parses (glibc then gives UTC under the
 * name it read, if any: `name`).
 */
export function parsePosixTz(tz: string): { rule: PosixRule | null; name: string } {
  let pos = 0;
  const name = (): string | null => {
    if (tz[pos] === '<') {
      const end = tz.indexOf('>', pos);
      if (end < 0) return null;
      const n = tz.slice(pos + 1, end);
      if (!/^[A-Za-z0-9+-]{3,}$/.test(n)) return null;
      pos = end + 1;
      return n;
    }
    const m = /^[A-Za-z]{3,}/.exec(tz.slice(pos));
    if (!m) return null;
    pos += m[0].length;
    return m[0];
  };
  // [+-]hh[:mm[:ss]], hours up to `maxHours`; null when absent.
  const hms = (maxHours: number): number | null => {
    const m = /^([+-]?)(\d{1,3})(?::(\d{1,2})(?::(\d{1,2}))?)?/.exec(tz.slice(pos));
    if (!m) return null;
    const [hh, mm, ss] = [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
    if (hh > maxHours || mm > 59 || ss > 59) return null;
    pos += m[0].length;
    return (m[1] === '-' ? -1 : 1) * (hh * 3600 + mm * 60 + ss);
  };
  const date = (): RuleDate | null => {
    let d: RuleDate | null = null;
    let m: RegExpExecArray | null;
    const rest = tz.slice(pos);
    if ((m = /^J(\d{1,3})/.exec(rest)) && Number(m[1]) >= 1 && Number(m[1]) <= 365) {
      d = { kind: 'julian1', day: Number(m[1]), secs: 7200 };
    } else if ((m = /^M(\d{1,2})\.(\d)\.(\d)/.exec(rest))) {
      const [month, week, wday] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (month < 1 || month > 12 || week < 1 || week > 5 || wday > 6) return null;
      d = { kind: 'month', month, week, wday, secs: 7200 };
    } else if ((m = /^(\d{1,3})/.exec(rest)) && Number(m[1]) <= 365) {
      d = { kind: 'julian0', day: Number(m[1]), secs: 7200 };
    } else return null;
    pos += m[0].length;
    if (tz[pos] === '/') {
      pos++;
      const secs = hms(167);
      if (secs === null) return null;
      d.secs = secs;
    }
    return d;
  };

  const stdName = name();
  if (stdName === null) return { rule: null, name: '' };
  const stdWest = hms(24);
  if (stdWest === null) return { rule: null, name: stdName };
  const std: TimeType = { offset: -stdWest, isdst: false, abbr: stdName };
  if (pos >= tz.length) return { rule: { std }, name: stdName };
  const dstName = name();
  if (dstName === null) return { rule: { std }, name: stdName };
  const dstWest = hms(24);
  const dstType: TimeType = { offset: dstWest === null ? std.offset + 3600 : -dstWest, isdst: true, abbr: dstName };
  let rules = tz.slice(pos);
  if (rules === '' || rules === ',') rules = ',' + DEFAULT_RULE;
  tz = rules;
  pos = 0;
  if (tz[pos++] !== ',') return { rule: { std }, name: stdName };
  const start = date();
  if (!start || tz[pos++] !== ',') return { rule: { std }, name: stdName };
  const end = date();
  if (!end) return { rule: { std }, name: stdName };
  return { rule: { std, dst: { type: dstType, start, end } }, name: stdName };
}

/** A zone made of a TZ string alone: no transitions, the rule throughout. */
export function zoneOfRule(rule: PosixRule): Zone {
  return { transitions: [], typeIndex: [], types: [rule.std], rule };
}

/** UTC under `name` (glibc's answer to a TZ it cannot read). */
export function utcZone(name = 'UTC'): Zone {
  return zoneOfRule({ std: { offset: 0, isdst: false, abbr: name } });
}

// ---------------------------------------------------------------- computing

const DAY = 86400;

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days from 1970-01-01 to year-month(1..12)-day (proleptic Gregorian, any integers). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The UTC year of time `t`. */
function yearOf(t: number): number {
  return new Date(Math.floor(t) * 1000).getUTCFullYear();
}

/** Seconds from the start of `year` (local) to the rule's change (local), as glibc's compute_change. */
function changeIn(year: number, d: RuleDate): number {
  let day: number;
  switch (d.kind) {
    case 'julian1':
      day = d.day - 1 + (isLeap(year) && d.day >= 60 ? 1 : 0);
      break;
    case 'julian0':
      day = d.day;
      break;
    case 'month': {
      const first = daysFromCivil(year, d.month, 1) - daysFromCivil(year, 1, 1);
      const firstWday = (((daysFromCivil(year, d.month, 1) + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
      let mday = (d.wday - firstWday + 7) % 7;
      mday += (d.week - 1) * 7;
      const mdays = daysFromCivil(year, d.month + 1, 1) - daysFromCivil(year, d.month, 1);
      while (mday >= mdays) mday -= 7;
      day = first + mday;
      break;
    }
  }
  return day * DAY + d.secs;
}

function ruleType(rule: PosixRule, t: number): TimeType {
  const dst = rule.dst;
  if (!dst) return rule.std;
  const year = yearOf(t);
  // glibc's compute_change counts from 1970-01-01 for any year up to 1970
  // (the day of the week still that of `year`): kept, to answer as it does.
  const yearStart = year > 1970 ? daysFromCivil(year, 1, 1) * DAY : 0;
  // UTC instants of the changes: DST starts in standard time, ends in DST.
  const start = yearStart + changeIn(year, dst.start) - rule.std.offset;
  const end = yearStart + changeIn(year, dst.end) - dst.type.offset;
  const inDst = start > end ? t < end || t >= start : t >= start && t < end;
  return inDst ? dst.type : rule.std;
}

/** The local time type in effect at `t` (glibc's __tzfile_compute). */
export function typeAt(zone: Zone, t: number): TimeType {
  const tr = zone.transitions;
  if (tr.length === 0 || t < tr[0]!) {
    if (tr.length === 0 && zone.rule) return ruleType(zone.rule, t);
    // Before the first transition: the first standard-time type.
    return zone.types.find((x) => !x.isdst) ?? zone.types[0]!;
  }
  if (t >= tr[tr.length - 1]! && zone.rule) return ruleType(zone.rule, t);
  let lo = 0;
  let hi = tr.length - 1; // tr[lo] <= t; find the last such
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (tr[mid]! <= t) lo = mid;
    else hi = mid - 1;
  }
  return zone.types[zone.typeIndex[lo]!]!;
}

/** timezone, daylight and tzname as tzset() leaves them for this zone. */
export function tzsetValues(zone: Zone): TzsetValues {
  const tr = zone.transitions;
  if (tr.length === 0) {
    const std = zone.rule?.std ?? zone.types[0]!;
    const dst = zone.rule?.dst?.type;
    return { timezone: -std.offset, daylight: !!dst && dst.offset !== std.offset, tzname: [std.abbr, (dst ?? std).abbr] };
  }
  // The types of the latest transitions of each kind (glibc scans backwards).
  let std: TimeType | undefined;
  let dst: TimeType | undefined;
  for (let i = tr.length - 1; i >= 0 && !(std && dst); i--) {
    const t = zone.types[zone.typeIndex[i]!]!;
    if (t.isdst) dst ??= t;
    else std ??= t;
  }
  std ??= zone.types[0]!;
  return { timezone: -std.offset, daylight: !!dst && dst.offset !== std.offset, tzname: [std.abbr, (dst ?? std).abbr] };
}

/** Broken-down local time, as struct tm holds it (tm_year from 1900, tm_mon 0..11). */
export interface Tm {
  sec: number;
  min: number;
  hour: number;
  mday: number;
  mon: number;
  year: number;
  wday: number;
  yday: number;
  isdst: number;
  gmtoff: number;
  zone: string;
}

/** localtime(t) in `zone`. */
export function localtime(zone: Zone, t: number): Tm {
  const type = typeAt(zone, t);
  const local = Math.floor(t) + type.offset;
  const days = Math.floor(local / DAY);
  const secs = local - days * DAY;
  const d = new Date(days * DAY * 1000);
  const year = d.getUTCFullYear();
  return {
    sec: secs % 60,
    min: Math.floor(secs / 60) % 60,
    hour: Math.floor(secs / 3600),
    mday: d.getUTCDate(),
    mon: d.getUTCMonth(),
    year: year - 1900,
    wday: d.getUTCDay(),
    yday: days - daysFromCivil(year, 1, 1),
    isdst: type.isdst ? 1 : 0,
    gmtoff: type.offset,
    zone: type.abbr,
  };
}

/**
 * mktime(): the time whose local representation in `zone` is the given
 * fields (any integers: they are normalised), as glibc's mktime (gnulib's
 * __mktime_internal) finds it, `isdst` < 0 meaning "find out". It probes
 * from the offset the previous call found (`guess`, updated: glibc keeps it
 * in a static), so an ambiguous local time (clocks set back) comes out as
 * glibc's would; a local time skipped by clocks set forward is read with the
 * offset before the gap (the DST side's when isdst > 0 asks for it); an isdst the time does not have takes the
 * offset of the nearest time that has it. NaN when out of range.
 */
export function mktime(
  zone: Zone,
  f: { year: number; mon: number; mday: number; hour: number; min: number; sec: number },
  isdst: number,
  guess: { offset: number } = { offset: 0 },
): number {
  // The local time read as if it were UTC ("local seconds").
  const L =
    (daysFromCivil(f.year + 1900 + Math.floor(f.mon / 12), (((f.mon % 12) + 12) % 12) + 1, 1) + f.mday - 1) * DAY +
    f.hour * 3600 +
    f.min * 60 +
    f.sec;
  if (!Number.isFinite(L) || Math.abs(L) > 8.64e12) return NaN;
  const differ = (type: TimeType) => isdst >= 0 && (isdst > 0) !== type.isdst;
  const t0 = L - guess.offset;
  let t = t0;
  let t1 = t0;
  let t2 = t0;
  let type = typeAt(zone, t);
  // Repeatedly use the error to improve the guess.
  for (let probes = 6; ; ) {
    const gt = L - type.offset;
    if (gt === t) break;
    if (t === t1 && t !== t2) {
      // Oscillating between the two sides of a gap (clocks set forward): L
      // is read with the offset before it, or with the DST side's when DST
      // is asked for (what Debian's glibc answers, whatever the guess).
      const [before, after] = t < t2 ? [type, typeAt(zone, t2)] : [typeAt(zone, t2), type];
      const side = isdst > 0 && !before.isdst && after.isdst ? after : before;
      t = L - side.offset;
      guess.offset = side.offset;
      return t;
    }
    if (--probes === 0) return NaN;
    t1 = t2;
    t2 = t;
    t = gt;
    type = typeAt(zone, t);
  }
  if (differ(type)) {
    // The wrong isdst: the offset of the nearest time that has the right
    // one, searched as gnulib does (weekly strides, up to ~8.5 years away).
    const STRIDE = 601200;
    search: {
      for (let delta = STRIDE; delta < 536454000 / 2 + STRIDE; delta += STRIDE) {
        for (const dir of [-1, 1]) {
          const other = typeAt(zone, t + dir * delta);
          if (!differ(other)) {
            t = L - other.offset;
            break search;
          }
        }
      }
      // None: assume DST is one hour ahead of standard time.
      t += 3600 * ((isdst === 0 ? 1 : 0) - (type.isdst ? 0 : 1));
    }
  }
  guess.offset = L - t;
  return t;
}
