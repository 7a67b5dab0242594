// Syslog lines as Gunicorn's SysLogHandler sends them: PRI from the facility
// and level, "gunicorn.<prefix>.<error|access>: [pid] message" and a NUL,
// over real UDP and TCP sockets.

import dgram from 'node:dgram';
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveSettings } from '../../src/config/settings.js';
import type { Settings } from '../../src/config/registry.js';
import type { AccessRecord } from '../../src/log/access-record.js';
import {
  SYSLOG_FACILITIES, SyslogTransport, encodePriority, facilityCode, parseSyslogAddress, syslogAccessSink,
  syslogErrorSink, syslogMessage, syslogProgram,
} from '../../src/log/syslog.js';

// As the command line's APP_MODULE sets it (appLayer), default_proc_name too.
const base = resolveSettings({ wsgi_app: 'myapp:app', default_proc_name: 'myapp:app' });
const settings = (over: Partial<Settings>): Settings => ({ ...base, ...over });

const record: AccessRecord = {
  method: 'GET', target: '/', httpVersion: '1.1', remoteAddress: '127.0.0.1', requestHeaders: [], status: 200,
  responseHeaders: [], bytesSent: 2, startedAt: Date.now(), durationUs: 1500, environ: {},
};

/** A UDP syslog server on 127.0.0.1; `next()` resolves with the next datagram. */
async function udpServer() {
  const sock = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  sock.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else got.push(m);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return {
    port: sock.address().port,
    next: (ms = 3000) =>
      new Promise<Buffer>((resolve, reject) => {
        const b = got.shift();
        if (b) return resolve(b);
        const t = setTimeout(() => reject(new Error('no datagram')), ms);
        waiters.push((m) => {
          clearTimeout(t);
          resolve(m);
        });
      }),
    pending: () => got.length,
    close: () => sock.close(),
  };
}

test('facility codes and PRI: facility * 8 + severity', () => {
  assert.is(SYSLOG_FACILITIES.user, 1);
  assert.is(SYSLOG_FACILITIES.local7, 23);
  assert.is(SYSLOG_FACILITIES.security, 4);
  assert.is(encodePriority(1, 'info'), 14);
  assert.is(encodePriority(1, 'error'), 11);
  assert.is(encodePriority(1, 'critical'), 10);
  assert.is(encodePriority(1, 'warning'), 12);
  assert.is(encodePriority(1, 'debug'), 15);
  assert.is(encodePriority(SYSLOG_FACILITIES.local3!, 'info'), 158);
  assert.is(encodePriority(SYSLOG_FACILITIES.kern!, 'critical'), 2);
  assert.is(facilityCode('LOCAL0'), 16);
  assert.throws(() => facilityCode('nope'), /^unknown facility name$/);
});

test('parse_syslog_address: udp, tcp, IPv6, default port, unix with #dgram', () => {
  assert.equal(parseSyslogAddress('udp://localhost:514'), { transport: 'udp', host: 'localhost', port: 514 });
  assert.equal(parseSyslogAddress('udp://LogHost'), { transport: 'udp', host: 'loghost', port: 514 });
  assert.equal(parseSyslogAddress('udp://'), { transport: 'udp', host: 'localhost', port: 514 });
  assert.equal(parseSyslogAddress('tcp://10.0.0.1:6514'), { transport: 'tcp', host: '10.0.0.1', port: 6514 });
  assert.equal(parseSyslogAddress('udp://[::1]:1514'), { transport: 'udp', host: '::1', port: 1514 });
  assert.equal(parseSyslogAddress('udp://[::1]'), { transport: 'udp', host: '::1', port: 514 });
  assert.equal(parseSyslogAddress('unix:///dev/log'), { transport: 'unix', path: '/dev/log', dgram: false });
  assert.equal(parseSyslogAddress('unix:///dev/log#dgram'), { transport: 'unix', path: '/dev/log', dgram: true });
  assert.throws(() => parseSyslogAddress('localhost:514'), /^invalid syslog address$/);
  assert.throws(() => parseSyslogAddress('udp://host:abc'), /^'abc' is not a valid port number\.$/);
});

test('program name: gunicorn.<syslog_prefix or proc_name with : as .>.<logger>', () => {
  assert.is(syslogProgram(settings({}), 'error'), 'gunicorn.myapp.app.error');
  assert.is(syslogProgram(settings({ proc_name: 'svc:a:b' }), 'access'), 'gunicorn.svc.a.b.access');
  assert.is(syslogProgram(settings({ syslog_prefix: 'web' }), 'error'), 'gunicorn.web.error');
});

test("the message: <PRI>program: [pid] message, then SysLogHandler's NUL", () => {
  const m = syslogMessage(1, 'error', 'gunicorn.web.error', 42, 'Worker (pid:7) was sent SIGKILL!\nline 2');
  assert.is(m.toString(), '<11>gunicorn.web.error: [42] Worker (pid:7) was sent SIGKILL!\nline 2\0');
  assert.is(syslogMessage(16, 'info', 'p', 1, 'é').toString(), '<134>p: [1] é\0');
});

test('unix:// addresses are refused by name; nothing is built without --log-syslog', () => {
  assert.is(syslogErrorSink(settings({ syslog: false })), null);
  assert.is(syslogAccessSink(settings({ syslog: false })), null);
  assert.throws(
    () => syslogErrorSink(settings({ syslog: true, syslog_addr: 'unix:///dev/log' })),
    /^syslog_addr 'unix:\/\/\/dev\/log' is not supported by nicorn-py yet$/,
  );
  assert.throws(() => syslogErrorSink(settings({ syslog: true, syslog_facility: 'bogus' })), /unknown facility name/);
});

test('error and access sinks over a real UDP socket', async () => {
  const srv = await udpServer();
  try {
    const s = settings({ syslog: true, syslog_addr: `udp://127.0.0.1:${srv.port}`, syslog_prefix: 'web', syslog_facility: 'local3' });
    const errorSink = syslogErrorSink(s)!;
    errorSink.write!('warning', 'careful');
    assert.is((await srv.next()).toString(), `<156>gunicorn.web.error: [${process.pid}] careful\0`);
    const access = syslogAccessSink(s)!;
    access(record, '127.0.0.1 - - "GET / HTTP/1.1" 200 2');
    assert.is((await srv.next()).toString(), `<158>gunicorn.web.access: [${process.pid}] 127.0.0.1 - - "GET / HTTP/1.1" 200 2\0`);
    errorSink.close!();
  } finally {
    srv.close();
  }
});

test('--disable-redirect-access-to-syslog keeps access lines out', () => {
  assert.is(syslogAccessSink(settings({ syslog: true, disable_redirect_access_to_syslog: true })), null);
});

test('a host name is resolved before sending (udp://localhost)', async () => {
  const srv = await udpServer();
  try {
    const t = new SyslogTransport({ transport: 'udp', host: 'localhost', port: srv.port });
    t.send(Buffer.from('x\0'));
    // localhost may resolve to ::1 first, where nothing listens; what matters is no throw.
    await new Promise((r) => setTimeout(r, 100));
    t.close();
  } finally {
    srv.close();
  }
});

test('TCP: messages on one connection, each ending in NUL', async () => {
  let data = '';
  const server = net.createServer((c) => c.on('data', (d) => (data += d)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as net.AddressInfo).port;
    const sink = syslogErrorSink(settings({ syslog: true, syslog_addr: `tcp://127.0.0.1:${port}`, syslog_prefix: 'tcp' }))!;
    sink.write!('info', 'one');
    sink.write!('critical', 'two');
    const want = `<14>gunicorn.tcp.error: [${process.pid}] one\0<10>gunicorn.tcp.error: [${process.pid}] two\0`;
    for (let i = 0; i < 100 && data.length < want.length; i++) await new Promise((r) => setTimeout(r, 20));
    assert.is(data, want);
    sink.close!();
  } finally {
    server.close();
  }
});

test.run();
