// The app's time zones and hashlib, through the real CLI with -w 2: TZ from
// the environment, os.environ['TZ'] + time.tzset() (Django's TIME_ZONE),
// zoneinfo on the host's database, KDF known-answer vectors (RFC 6070,
// RFC 7914), the algorithms Debian's CPython lists. Expected values are
// what Debian's CPython (glibc, OpenSSL 3) answers for the same calls.

import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, baseSnapshotSettled, startServer, type Server } from '../helpers/server.js';

const t = suite<{ srv?: Server }>('hashtz: time zones and hashlib');

async function get(ctx: { srv?: Server }, url: string): Promise<Record<string, unknown>> {
  // One server for the suite, started by whichever case runs first.
  ctx.srv ??= await startServer(['-w', '2', '--chdir', path.join(FIXTURES, 'wsgi'), 'hashtz:app'], {
    env: { TZ: 'America/New_York' },
  });
  const res = await fetch(ctx.srv.url + url);
  assert.is(res.status, 200, `${url}: ${ctx.srv.log().slice(-2000)}`);
  return (await res.json()) as Record<string, unknown>;
}

t.after(async (ctx) => {
  await ctx.srv?.stop();
});

t('TZ from the environment: local time, names and offsets at a DST boundary, as glibc gives them', async (ctx) => {
  const r = await get(ctx, '/time?ts=1710054000'); // 2024-03-10 07:00 UTC: New York's clocks just went forward
  assert.equal(r.tzname, ['EST', 'EDT']);
  assert.is(r.timezone, 18000);
  assert.is(r.altzone, 14400);
  assert.is(r.daylight, 1);
  assert.equal(r.localtime, [2024, 3, 10, 3, 0, 0, 6, 70, 1]);
  assert.is(r.strftime, '2024-03-10 03:00:00 EDT -0400');
  assert.is(r.mktime, 1710054000);
  assert.is(r.astimezone, '2024-03-10T03:00:00-04:00');
  assert.is(r.astimezone_name, 'EDT');
});

t("os.environ['TZ'] and time.tzset() switch the zone (Europe/Paris, a POSIX EST5EDT)", async (ctx) => {
  const paris = await get(ctx, '/time?ts=1729990800&tz=Europe/Paris'); // 2024-10-27 01:00 UTC: clocks just went back
  assert.equal(paris.tzname, ['CET', 'CEST']);
  assert.is(paris.timezone, -3600);
  assert.is(paris.daylight, 1);
  assert.equal(paris.localtime, [2024, 10, 27, 2, 0, 0, 6, 301, 0]);
  assert.is(paris.strftime, '2024-10-27 02:00:00 CET +0100');
  assert.is(paris.mktime, 1729990800);
  assert.is(paris.astimezone, '2024-10-27T02:00:00+01:00');
  const posix = await get(ctx, '/time?ts=1720000000&tz=EST5EDT');
  assert.equal(posix.tzname, ['EST', 'EDT']);
  assert.is(posix.strftime, '2024-07-03 05:46:40 EDT -0400');
  const utc = await get(ctx, '/time?ts=1720000000&tz=UTC0');
  assert.equal(utc.tzname, ['UTC', 'UTC']);
  assert.is(utc.daylight, 0);
});

t('zoneinfo finds IANA zones in the host database; an unknown key is CPython\'s error, without Pyodide advice', async (ctx) => {
  const z = await get(ctx, '/zone?key=Europe/Paris&ts=1711846800');
  assert.is(z.iso, '2024-03-31T03:00:00+02:00');
  assert.is(z.tzname, 'CEST');
  const bad = await get(ctx, '/zone?key=Nowhere/Land');
  assert.is(bad.error, 'ZoneInfoNotFoundError');
  assert.is(bad.message, "'No time zone found with key Nowhere/Land'");
});

t('hashlib: pbkdf2_hmac and scrypt vectors, algorithms_available, OpenSSL-only digests and hmac, CPython errors', async (ctx) => {
  const h = await get(ctx, '/hash');
  assert.is(h.pbkdf2_1, '0c60c80f961f0e71f3a9b524af6012062fe037a6');
  assert.is(h.pbkdf2_4096, '4b007901b765489abead49d926f721d065a429c1');
  assert.is(h.pbkdf2_long, '3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038');
  assert.is(
    h.scrypt_empty,
    '77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906',
  );
  assert.is(
    h.scrypt_nacl,
    'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
  );
  // Debian 12's CPython on OpenSSL 3.0: sorted(hashlib.algorithms_available).
  assert.equal(h.algorithms_available, [
    'blake2b', 'blake2s', 'md5', 'md5-sha1', 'ripemd160', 'sha1', 'sha224', 'sha256', 'sha384', 'sha3_224',
    'sha3_256', 'sha3_384', 'sha3_512', 'sha512', 'sha512_224', 'sha512_256', 'shake_128', 'shake_256', 'sm3',
  ]);
  assert.equal(h.digests, {
    ripemd160: '8eb208f7e05d987a9b044a8e98c6b087f15a0bfc',
    sm3: '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
    sha512_224: '4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa',
    sha512_256: '53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23',
    'md5-sha1': '900150983cd24fb0d6963f7d28e17f72a9993e364706816aba3e25717850c26c9cd0d89d',
  });
  assert.is(h.hmac_ripemd160, 'af9f1041c7727ee3161fdbda8821364fb888a0e2');
  assert.is(h.hmac_digest_sm3, 'aaef27f7826f0b502a7e3d787a7ac6ee15a4ce44e2631200df14c54bc4f57fa7');
  const e = h.errors as Record<string, [string, string]>;
  assert.is(e.pbkdf2_unknown![0], 'UnsupportedDigestmodError');
  assert.equal(e.pbkdf2_str, ['TypeError', "a bytes-like object is required, not 'str'"]);
  assert.equal(e.pbkdf2_iterations, ['ValueError', 'iteration value must be greater than 0.']);
  assert.equal(e.pbkdf2_dklen, ['ValueError', 'key length must be greater than 0.']);
  assert.equal(e.scrypt_n, ['ValueError', 'n must be a power of 2.']);
  assert.equal(e.scrypt_r, ['ValueError', 'Invalid parameter combination for n, r, p, maxmem.']);
  assert.equal(e.scrypt_maxmem, ['ValueError', 'maxmem must be positive and smaller than 2147483647']);
  assert.equal(e.scrypt_memory, ['ValueError', '[digital envelope routines] memory limit exceeded']);
  assert.equal(e.scrypt_dklen, ['ValueError', 'dklen must be greater than 0 and smaller than 2147483647']);
  assert.equal(e.new_unknown, ['ValueError', 'unsupported hash type nope']);
});

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

t('time.sleep sleeps on the host instead of spinning, never shorter than asked; CPython\'s errors', async (ctx) => {
  await get(ctx, '/sleep?s=0.0005');
  // TZ is part of the base snapshot's key (the time module reads it when the
  // image is made): a worker of this server may be making its own.
  assert.ok(await baseSnapshotSettled(ctx.srv!), 'the base snapshot being made is done');
  const pids = ctx.srv!.workerPids();
  const before = new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
  const r = await get(ctx, '/sleep?s=1');
  // The worker that slept (the other may still be starting).
  const used = cpuSeconds(r.pid as number) - before.get(r.pid as number)!;
  assert.ok((r.elapsed as number) >= 1, `slept ${r.elapsed} s`);
  // Emscripten's clock_nanosleep spins: a 1 s sleep cost 1.0 s of CPU.
  assert.ok(used < 0.4, `the worker used ${used} s of CPU during a 1 s sleep`);
  const short = await get(ctx, '/sleep?s=0.0005');
  assert.ok((short.elapsed as number) >= 0.0005, `slept ${short.elapsed} s`);
  const e = r.errors as Record<string, [string, string]>;
  assert.equal(e.negative, ['ValueError', 'sleep length must be non-negative']);
  assert.equal(e.nan, ['ValueError', 'Invalid value NaN (not a number)']);
  assert.equal(e.str, ['TypeError', "'str' object cannot be interpreted as an integer or float"]); // 3.14's wording
  assert.is(e.huge![0], 'OverflowError');
  assert.equal([r.name, r.module], ['sleep', 'time']);
});

t.run();
