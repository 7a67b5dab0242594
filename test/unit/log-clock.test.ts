// src/log/log-clock.ts: log lines show local time in TZ as glibc resolves it
// (the answers are Debian's `TZ=... date +'%F %T %z'` for the same instants).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { logTime, setLogTimeZone } from '../../src/log/log-clock.js';
import { accessTimestamp } from '../../src/log/access-log.js';
import { logTimestamp } from '../../src/log/error-log.js';

const at = (iso: string) => new Date(iso);

test('a zone name: Europe/Paris either side of its October change', () => {
  setLogTimeZone('Europe/Paris', null);
  assert.is(logTimestamp(at('2024-10-27T00:30:00Z')), '[2024-10-27 02:30:00 +0200]');
  assert.is(logTimestamp(at('2024-10-27T01:30:00Z')), '[2024-10-27 02:30:00 +0100]');
  assert.is(accessTimestamp(at('2024-10-27T01:30:00Z')), '[27/Oct/2024:02:30:00 +0100]');
});

test('offsets with minutes, west and east: America/St_Johns -0330, Asia/Kolkata +0530', () => {
  setLogTimeZone('America/St_Johns', null);
  assert.is(logTimestamp(at('2026-01-05T12:00:00Z')), '[2026-01-05 08:30:00 -0330]');
  setLogTimeZone(':Asia/Kolkata', null);
  assert.is(accessTimestamp(at('2026-12-31T20:00:00Z')), '[01/Jan/2027:01:30:00 +0530]');
});

test('a POSIX rule, which glibc reads and node\'s Date (ICU) took for UTC', () => {
  setLogTimeZone('CET-1CEST,M3.5.0,M10.5.0/3', null);
  assert.is(logTimestamp(at('2024-07-01T12:00:00Z')), '[2024-07-01 14:00:00 +0200]');
  assert.is(logTimestamp(at('2024-01-01T12:00:00Z')), '[2024-01-01 13:00:00 +0100]');
});

test('"" is UTC; the same second twice gives the same fields', () => {
  setLogTimeZone('', null);
  const d = at('2026-12-07T12:00:00.250Z');
  assert.is(logTimestamp(d), '[2026-12-07 12:00:00 +0000]');
  assert.equal(logTime(at('2026-12-07T12:00:00.900Z')), logTime(d));
  setLogTimeZone(process.env.TZ ?? null, process.env.TZDIR ?? null);
});

test.run();
