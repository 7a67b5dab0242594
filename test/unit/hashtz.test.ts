// The pure parts of time zones and hashing: TZif and POSIX TZ parsing,
// localtime and mktime as glibc answers them (values from Debian 12's
// CPython, glibc 2.36), TZ resolution, the boot warning, algorithm names.

import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalName, hostAlgorithms } from '../../src/runtime/host/hashing.js';
import { missingTimeZoneDatabase, resolveZone } from '../../src/runtime/host/timezone.js';
import { localtime, mktime, parsePosixTz, parseTzif, tzsetValues, zoneOfRule, type Zone } from '../../src/runtime/host/tz-rules.js';

const posix = (tz: string): Zone => zoneOfRule(parsePosixTz(tz).rule!);
const fields = (y: number, mo: number, d: number, h: number, mi: number, s = 0) => ({ year: y - 1900, mon: mo - 1, mday: d, hour: h, min: mi, sec: s });

test('POSIX TZ strings parse as glibc reads them', () => {
  const r = parsePosixTz('CET-1CEST,M3.5.0,M10.5.0/3').rule!;
  assert.equal(r.std, { offset: 3600, isdst: false, abbr: 'CET' });
  assert.equal(r.dst!.type, { offset: 7200, isdst: true, abbr: 'CEST' });
  assert.equal(r.dst!.end, { kind: 'month', month: 10, week: 5, wday: 0, secs: 10800 });
  assert.equal(parsePosixTz('<+0330>-3:30').rule!.std, { offset: 12600, isdst: false, abbr: '+0330' });
  // No rule after the DST name: glibc's default (US) rule.
  assert.equal(parsePosixTz('EST5EDT').rule!.dst!.start, { kind: 'month', month: 3, week: 2, wday: 0, secs: 7200 });
  // Not a TZ string: UTC under the name read (glibc: TZ=Foo/Bar gives tzname ('Foo', 'Foo')).
  assert.equal(parsePosixTz('Foo/Bar'), { rule: null, name: 'Foo' });
});

test('localtime and tzset values of POSIX rules, both hemispheres', () => {
  const ny = posix('EST5EDT');
  assert.equal(tzsetValues(ny), { timezone: 18000, daylight: true, tzname: ['EST', 'EDT'] });
  assert.is(localtime(ny, 1710053999).zone, 'EST'); // 2024-03-10 06:59:59 UTC
  assert.is(localtime(ny, 1710054000).zone, 'EDT');
  const nz = posix('NZST-12NZDT,M9.5.0,M4.1.0/3');
  assert.is(localtime(nz, 1705000000).zone, 'NZDT'); // January: summer
  assert.is(localtime(nz, 1720000000).gmtoff, 43200);
});

const ZONEINFO = '/usr/share/zoneinfo';
const hasZoneinfo = fs.existsSync(`${ZONEINFO}/Europe/Paris`);

test('TZif: Europe/Paris from the host database around both 2024 changes', () => {
  if (!hasZoneinfo) return console.warn('hashtz.test: no /usr/share/zoneinfo; skipped');
  const paris = parseTzif(fs.readFileSync(`${ZONEINFO}/Europe/Paris`))!;
  assert.equal(tzsetValues(paris), { timezone: -3600, daylight: true, tzname: ['CET', 'CEST'] });
  const lt = localtime(paris, 1711846800); // 2024-03-31 01:00 UTC
  assert.equal([lt.year + 1900, lt.mon + 1, lt.mday, lt.hour, lt.wday, lt.yday, lt.isdst, lt.gmtoff, lt.zone], [2024, 3, 31, 3, 0, 90, 1, 7200, 'CEST']);
  assert.is(localtime(paris, 1711846799).zone, 'CET');
  // Beyond the table (2100): the footer's rule.
  assert.is(localtime(paris, 4118580000).zone, 'CEST'); // 2100-07-05
  // Before the first transition: local mean time.
  assert.is(localtime(paris, -3000000000).gmtoff, 561);
});

test('mktime: normalisation, a skipped and a repeated local time, a wrong isdst (glibc answers)', () => {
  if (!hasZoneinfo) return;
  const ny = parseTzif(fs.readFileSync(`${ZONEINFO}/America/New_York`))!;
  assert.is(mktime(ny, fields(2024, 13, 40, 25, 61, 61), -1), 1739170921);
  // 02:30 on 2024-03-10 does not exist: 03:30 EDT, or 01:30 EST when DST is asked for.
  assert.is(mktime(ny, fields(2024, 3, 10, 2, 30), -1), 1710055800);
  assert.is(mktime(ny, fields(2024, 3, 10, 2, 30), 0), 1710055800);
  assert.is(mktime(ny, fields(2024, 3, 10, 2, 30), 1), 1710052200);
  // 01:30 on 2024-11-03 happens twice.
  assert.is(mktime(ny, fields(2024, 11, 3, 1, 30), 1), 1730611800);
  assert.is(mktime(ny, fields(2024, 11, 3, 1, 30), 0), 1730615400);
  assert.is(mktime(ny, fields(2024, 11, 3, 1, 30), -1, { offset: 0 }), 1730611800);
  // isdst=0 in July: the EST offset (13:00 EDT).
  assert.is(mktime(ny, fields(2024, 7, 1, 12, 0), 0), 1719853200);
  // UTC has no DST at all: isdst=1 takes an hour off, as glibc does.
  assert.is(mktime(posix('UTC0'), fields(2024, 1, 15, 12, 0), 1), 1705316400);
});

test('TZ resolves as glibc: unset is /etc/localtime, "" UTC, ":Zone" a file, else a POSIX string', () => {
  const files: Record<string, Uint8Array> = {};
  const read = (f: string) => files[f] ?? null;
  assert.equal(tzsetValues(resolveZone(null, null, read)).tzname, ['UTC', 'UTC']);
  assert.equal(tzsetValues(resolveZone('', null, read)).tzname, ['UTC', 'UTC']);
  assert.equal(tzsetValues(resolveZone('JST-9', null, read)), { timezone: -32400, daylight: false, tzname: ['JST', 'JST'] });
  if (!hasZoneinfo) return;
  files['/srv/tz/Europe/Paris'] = fs.readFileSync(`${ZONEINFO}/Europe/Paris`);
  assert.equal(tzsetValues(resolveZone(':Europe/Paris', '/srv/tz', read)).tzname, ['CET', 'CEST']);
  assert.equal(tzsetValues(resolveZone('Europe/Paris', null, (f) => fs.readFileSync(f))).tzname, ['CET', 'CEST']);
});

test('a host without a zoneinfo database is told what to install', () => {
  assert.is(missingTimeZoneDatabase(() => true), null);
  const msg = missingTimeZoneDatabase(() => false)!;
  assert.match(msg, /apt-get install tzdata/);
  assert.match(msg, /apk add tzdata/);
  assert.not.match(msg, /loadPackage/);
});

test('hash names: OpenSSL spellings resolve to Python names; the host list is node\'s OpenSSL', () => {
  assert.is(canonicalName('SHA256'), 'sha256');
  assert.is(canonicalName('sha-256'), 'sha256');
  assert.is(canonicalName('RIPEMD'), 'ripemd160');
  assert.is(canonicalName('SHA512_224'), 'sha512_224');
  assert.is(canonicalName('blake2b512'), 'blake2b');
  assert.is(canonicalName('nope'), undefined);
  const algos = hostAlgorithms();
  for (const name of ['sha256', 'sha3_256', 'ripemd160', 'sm3', 'md5-sha1', 'shake_128']) assert.ok(algos.includes(name), name);
});

test.run();
