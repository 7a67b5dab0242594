// StatsD lines as Gunicorn's instrument/statsd.py writes them: names,
// types, the prefix rule, dogstatsd tags; the request, log and workers metrics.

import dgram from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Settings } from '../../src/config/registry.js';
import { resolveSettings } from '../../src/config/settings.js';
import type { AccessRecord } from '../../src/log/access-record.js';
import { ErrorLog } from '../../src/log/error-log.js';
import {
  Statsd, durationMs, parseStatsdAddress, pyFloat, reportWorkerCount, statsdAccessSink, statsdPrefix,
} from '../../src/log/statsd.js';

const base = resolveSettings({ wsgi_app: 'myapp:app' });
const settings = (over: Partial<Settings>): Settings => ({ ...base, ...over });

/** A Statsd whose datagrams are collected as strings. */
function capture(prefix = '', tags = '') {
  const lines: string[] = [];
  return { statsd: new Statsd((m) => lines.push(m.toString()), prefix, tags), lines };
}

const record = (over: Partial<AccessRecord> = {}): AccessRecord => ({
  method: 'GET', target: '/', httpVersion: '1.1', remoteAddress: '127.0.0.1', requestHeaders: [], status: 200,
  responseHeaders: [], bytesSent: 2, startedAt: Date.now(), durationUs: 12_345, environ: {},
  ...over,
});

test("the prefix: sub(r'^(.+[^.]+)\\.*$', '\\g<1>.', prefix)", () => {
  assert.is(statsdPrefix(''), '');
  assert.is(statsdPrefix('app'), 'app.');
  assert.is(statsdPrefix('app.'), 'app.');
  assert.is(statsdPrefix('app...'), 'app.');
  assert.is(statsdPrefix('my.app'), 'my.app.');
  // Gunicorn's pattern needs two characters: a one-letter prefix gets no dot.
  assert.is(statsdPrefix('a'), 'a');
});

test('metric lines: counter, gauge, timer, histogram, decrement', () => {
  const { statsd, lines } = capture();
  statsd.increment('gunicorn.requests', 1);
  statsd.gauge('gunicorn.workers', 3);
  statsd.timer('gunicorn.request.duration', 12.345);
  statsd.timer('gunicorn.request.duration', 1000);
  statsd.histogram('gunicorn.backlog', 3);
  statsd.decrement('x', 2);
  assert.equal(lines, [
    'gunicorn.requests:1|c|@1.0',
    'gunicorn.workers:3|g',
    'gunicorn.request.duration:12.345|ms',
    'gunicorn.request.duration:1000.0|ms',
    'gunicorn.backlog:3|h',
    'x:-2|c|@1.0',
  ]);
});

test('prefix and dogstatsd tags on every line', () => {
  const { statsd, lines } = capture('web', 'env:prod,team:a');
  statsd.increment('gunicorn.log.error', 1);
  statsd.gauge('gunicorn.workers', 2);
  assert.equal(lines, ['web.gunicorn.log.error:1|c|@1.0|#env:prod,team:a', 'web.gunicorn.workers:2|g|#env:prod,team:a']);
});

test('a request: duration (ms, a Python float), the request, its status', () => {
  const { statsd, lines } = capture();
  statsd.access(record({ durationUs: 1_234_567, status: 404 }));
  assert.equal(lines, [
    'gunicorn.request.duration:1234.567|ms',
    'gunicorn.requests:1|c|@1.0',
    'gunicorn.request.status.404:1|c|@1.0',
  ]);
});

test('durations as timedelta.seconds * 1000 + microseconds / 1000', () => {
  assert.is(durationMs(12_345), 12.345);
  assert.is(durationMs(2_000_000), 2000);
  assert.is(pyFloat(durationMs(2_000_000)), '2000.0');
  assert.is(pyFloat(durationMs(1)), '0.001');
  assert.is(pyFloat(durationMs(999_999)), '999.999');
});

test('error-log counts: critical, error, warning, exception, whatever the level', () => {
  const { statsd, lines } = capture();
  const log = new ErrorLog('critical', -1);
  log.addSink(statsd);
  log.critical('c');
  log.error('e');
  log.warning('w');
  log.exception('x');
  log.info('not counted');
  log.debug('not counted');
  assert.equal(lines, [
    'gunicorn.log.critical:1|c|@1.0',
    'gunicorn.log.error:1|c|@1.0',
    'gunicorn.log.warning:1|c|@1.0',
    'gunicorn.log.exception:1|c|@1.0',
  ]);
});

test('Statsd.log extras: gauge, counter, histogram, timer (Gunicorn 26: histogram is |h, timer |ms)', () => {
  const { statsd, lines } = capture();
  statsd.metric('gauge', 'q.depth', '5');
  statsd.metric('counter', 'hits', '2');
  statsd.metric('histogram', 'h', '1.5');
  statsd.metric('timer', 't', '1.5');
  statsd.metric('other', 'ignored', '1');
  assert.equal(lines, ['q.depth:5|g', 'hits:2|c|@1.0', 'h:1.5|h', 't:1.5|ms']);
});

test('statsd_host: HOST:PORT, default port 8125, unix:PORT compatibility, unix:// refused', () => {
  assert.equal(parseStatsdAddress('localhost:9125'), { host: 'localhost', port: 9125 });
  assert.equal(parseStatsdAddress('Metrics'), { host: 'metrics', port: 8125 });
  assert.equal(parseStatsdAddress('[::1]:9000'), { host: '::1', port: 9000 });
  assert.equal(parseStatsdAddress('[::1]'), { host: '::1', port: 8125 });
  assert.equal(parseStatsdAddress('unix:8125'), { host: 'unix', port: 8125 });
  assert.equal(parseStatsdAddress('unix:///run/statsd.sock'), { path: '/run/statsd.sock' });
  assert.is(Statsd.fromSettings(settings({})), null);
  assert.throws(
    () => Statsd.fromSettings(settings({ statsd_host: 'unix:///run/statsd.sock' })),
    /^statsd_host 'unix:\/\/\/run\/statsd\.sock' is not supported by nicorn-py yet$/,
  );
});

test('over a real UDP socket, with the request sink and the workers gauge', async () => {
  const sock = dgram.createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  try {
    const s = settings({ statsd_host: `127.0.0.1:${sock.address().port}`, statsd_prefix: 'app', dogstatsd_tags: 't:1' });
    const log = new ErrorLog('info', -1);
    log.statsd = Statsd.fromSettings(s);
    statsdAccessSink(log)!(record({ durationUs: 5000 }));
    reportWorkerCount(log, 2);
    reportWorkerCount(log, 2);
    reportWorkerCount(log, 3);
    for (let i = 0; i < 100 && got.length < 5; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(got, [
      'app.gunicorn.request.duration:5.0|ms|#t:1',
      'app.gunicorn.requests:1|c|@1.0|#t:1',
      'app.gunicorn.request.status.200:1|c|@1.0|#t:1',
      'app.gunicorn.workers:2|g|#t:1',
      'app.gunicorn.workers:3|g|#t:1',
    ]);
    log.statsd!.close();
  } finally {
    sock.close();
  }
});

test('no statsd: no request sink; the workers count is still a debug line', () => {
  const log = new ErrorLog('debug', -1);
  assert.is(statsdAccessSink(log), null);
  const seen: string[] = [];
  log.addSink({ write: (level, msg) => seen.push(`${level} ${msg}`) });
  reportWorkerCount(log, 4);
  reportWorkerCount(log, 4);
  assert.equal(seen, ['debug 4 workers']);
});

test.run();
