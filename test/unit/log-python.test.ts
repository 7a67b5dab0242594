// python/nicorn/log.py in a real Pyodide booted by bootPyodide: the
// "gunicorn.error" logger, wsgi.errors and captured stdout write the error
// log file; records reach syslog and counts reach statsd over real UDP
// sockets; an app's own logging setup is left alone.

import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PyodideInterface } from 'pyodide';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveSettings } from '../../src/config/settings.js';
import { ErrorLog } from '../../src/log/error-log.js';
import { bootPyodide, hostLayout } from '../../src/runtime/boot.js';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-pylog-')));
const file = path.join(tmp, 'error.log');
let py: PyodideInterface;
let log: ErrorLog;
let syslogSock: dgram.Socket;
let statsdSock: dgram.Socket;
const syslog: string[] = [];
const statsd: string[] = [];

async function udp(into: string[]): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.on('message', (m) => into.push(m.toString()));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
};

test.before(async () => {
  syslogSock = await udp(syslog);
  statsdSock = await udp(statsd);
  log = ErrorLog.fromSettings({
    ...resolveSettings({ wsgi_app: 'myapp:app' }),
    chdir: tmp,
    errorlog: file,
    loglevel: 'debug',
    capture_output: true,
    syslog: true,
    syslog_addr: `udp://127.0.0.1:${syslogSock.address().port}`,
    syslog_prefix: 'pytest',
    statsd_host: `127.0.0.1:${statsdSock.address().port}`,
  });
  py = await bootPyodide(hostLayout(tmp, []));
  py.runPython('import logging, io, sys, os\nfrom nicorn.log import error_logger, wsgi_errors\nlog = error_logger("debug")');
});

test.after(() => {
  log.close();
  syslogSock.close();
  statsdSock.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("gunicorn.error writes Gunicorn's line to the error log file, every level", () => {
  py.runPython(`
log.debug("py debug")
log.info("py info %s", 1)
log.warning("py warning")
log.error("py error")
log.critical("py critical")
try:
    raise ValueError("boom")
except ValueError:
    log.exception("py exception")
`);
  const text = fs.readFileSync(file, 'utf8');
  for (const [level, msg] of [['DEBUG', 'py debug'], ['INFO', 'py info 1'], ['WARNING', 'py warning'], ['ERROR', 'py error'], ['CRITICAL', 'py critical'], ['ERROR', 'py exception']]) {
    assert.match(text, new RegExp(`^\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d{4}\\] \\[\\d+\\] \\[${level}\\] ${msg}$`, 'm'));
  }
  assert.match(text, /py exception\nTraceback \(most recent call last\):\n[\s\S]*ValueError: boom\n/);
});

test('the same records go to syslog, formatted as the error sink formats them', async () => {
  await until(() => syslog.some((m) => m.includes('py exception')));
  const pid = py.runPython('os.getpid()') as number;
  assert.ok(syslog.includes(`<15>gunicorn.pytest.error: [${process.pid}] py debug\0`), syslog.join('|'));
  assert.ok(syslog.includes(`<12>gunicorn.pytest.error: [${process.pid}] py warning\0`));
  assert.ok(syslog.includes(`<10>gunicorn.pytest.error: [${process.pid}] py critical\0`));
  assert.ok(syslog.some((m) => /^<11>gunicorn\.pytest\.error: \[\d+\] py exception\nTraceback[\s\S]*ValueError: boom\0$/.test(m)));
  assert.type(pid, 'number');
});

test('statsd counts critical, error, warning and exception calls on gunicorn.error', async () => {
  await until(() => statsd.length >= 4);
  assert.equal(statsd.filter((m) => m.startsWith('gunicorn.log.')), [
    'gunicorn.log.warning:1|c|@1.0',
    'gunicorn.log.error:1|c|@1.0',
    'gunicorn.log.critical:1|c|@1.0',
    'gunicorn.log.exception:1|c|@1.0',
  ]);
});

test('extra={"metric", "value", "mtype"} emits a metric; a message-less info logs nothing', async () => {
  const before = fs.readFileSync(file, 'utf8');
  py.runPython('log.info("", extra={"metric": "queue.depth", "value": 3, "mtype": "gauge"})');
  await until(() => statsd.includes('queue.depth:3|g'));
  assert.ok(statsd.includes('queue.depth:3|g'));
  assert.is(fs.readFileSync(file, 'utf8'), before);
});

test("the Flask recipe: an app logger given gunicorn.error's handlers writes there too", () => {
  py.runPython(`
app_log = logging.getLogger("myapp")
app_log.handlers = logging.getLogger("gunicorn.error").handlers
app_log.setLevel(logging.INFO)
app_log.info("from the app logger")
`);
  assert.match(fs.readFileSync(file, 'utf8'), /\[INFO\] from the app logger\n/);
});

test("an app's own logging configuration keeps working as configured", () => {
  const out = py.runPython(`
buf = io.StringIO()
logging.basicConfig(stream=buf, format="%(name)s|%(message)s", force=True)
logging.getLogger("app.module").warning("to the app's handler")
buf.getvalue()
`) as string;
  assert.is(out, "app.module|to the app's handler\n");
  assert.not.match(fs.readFileSync(file, 'utf8'), /to the app's handler/);
});

test('wsgi.errors and (with --capture-output) print go to the error log file', () => {
  py.runPython(`
wsgi_errors().write("raw wsgi.errors text\\n")
print("printed", flush=True)
print("to sys.stderr", file=sys.stderr, flush=True)
`);
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, /^raw wsgi\.errors text$/m);
  assert.match(text, /^printed$/m);
  assert.match(text, /^to sys\.stderr$/m);
});

test.run();
