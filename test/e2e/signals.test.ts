// The arbiter's remaining signals and process settings: HUP re-reads the
// config file, USR1, USR2 (a new arbiter on the same sockets), WINCH, -D,
// --preload, -u/-g.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { alive, FIXTURES, eventually, runCli, sleep, startServer } from '../helpers/server.js';

const WSGI = path.join(FIXTURES, 'wsgi');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-signals-'));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const text = async (url: string) => (await fetch(url)).text();

const sig = suite('arbiter signals');

sig('HUP reads the config file again: a changed worker count takes effect', async () => {
  const conf = path.join(tmp, 'reload.conf.py');
  fs.writeFileSync(conf, 'workers = 1\n');
  const srv = await startServer(['-c', conf, '--chdir', WSGI, 'hello']);
  try {
    fs.writeFileSync(conf, 'workers = 2\n');
    process.kill(srv.pid, 'SIGHUP');
    assert.ok(await eventually(() => srv.workerPids().length === 3, 20_000), 'two new workers after HUP');
    const old = srv.workerPids()[0]!;
    assert.ok(await eventually(() => !alive(old), 20_000), 'the old worker retired');
    assert.match(srv.log(), /Handling signal: hup\n[\s\S]*Hang up: Master/);
    assert.is(await text(`${srv.url}/`), 'Hello, World!\n');
  } finally {
    await srv.stop();
  }
});

sig('USR1 is handled (logs reopened) and nothing else changes', async () => {
  const srv = await startServer(['--chdir', WSGI, 'hello']);
  try {
    process.kill(srv.pid, 'SIGUSR1');
    assert.ok(await eventually(() => /Handling signal: usr1/.test(srv.log())));
    await sleep(300);
    assert.is(await text(`${srv.url}/`), 'Hello, World!\n');
    assert.is(srv.workerPids().length, 1);
    assert.not.match(srv.log(), /Debugger listening/);
  } finally {
    await srv.stop();
  }
});

sig('USR2 starts a new arbiter on the same socket; TERM to the old one drops nothing', async () => {
  const pidfile = path.join(tmp, 'usr2.pid');
  const srv = await startServer(['--chdir', WSGI, '--pid', pidfile, 'conformance']);
  let newPid = 0;
  try {
    process.kill(srv.pid, 'SIGUSR2');
    assert.ok(await eventually(() => fs.existsSync(`${pidfile}.2`), 20_000), 'the new arbiter wrote NAME.2');
    newPid = Number(fs.readFileSync(`${pidfile}.2`, 'utf8'));
    assert.ok(fs.existsSync(`${pidfile}.oldbin`), 'the old pid file became .oldbin');
    assert.ok(await eventually(() => srv.workerPids().length === 2, 20_000), "the new arbiter's worker booted");
    await sleep(500);
    const pids = new Set<string>();
    for (let i = 0; i < 30; i++) pids.add(await text(`${srv.url}/pid`));
    await srv.stop('SIGTERM');
    // Only the new generation serves now, on the same port.
    for (let i = 0; i < 5; i++) assert.is(await text(`${srv.url}/hello`), 'Hello, World!\n');
    assert.ok(await eventually(() => fs.existsSync(pidfile) && Number(fs.readFileSync(pidfile, 'utf8')) === newPid, 5000), 'the new arbiter owns the pid file');
    assert.ok(pids.size >= 1);
  } finally {
    if (newPid && alive(newPid)) {
      process.kill(newPid, 'SIGTERM');
      await eventually(() => !alive(newPid), 10_000);
    }
    await srv.stop('SIGKILL');
  }
});

for (const signal of ['SIGINT', 'SIGQUIT'] as const) {
  sig(`${signal} to the arbiter is a quick stop: it does not wait for a slow request`, async () => {
    const srv = await startServer(['--chdir', WSGI, 'conformance']);
    const slow = fetch(`${srv.url}/sleep?s=20`).then(
      () => 'answered',
      () => 'cut off',
    );
    await sleep(300);
    const t0 = Date.now();
    const code = await srv.stop(signal);
    assert.is(code, 0);
    assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
    assert.is(await slow, 'cut off');
    assert.match(srv.log(), new RegExp(`Handling signal: ${signal.slice(3).toLowerCase()}[\\s\\S]*Shutting down: Master`));
  });
}

sig.run();

const proc = suite('process settings');

proc('-D daemonizes: the command returns, the arbiter serves and writes its pid file', async () => {
  const port = await freePort();
  const pidfile = path.join(tmp, 'daemon.pid');
  const r = await runCli(['-D', '--pid', pidfile, '-b', `127.0.0.1:${port}`, '--chdir', WSGI, 'hello']);
  assert.is(r.code, 0);
  assert.ok(await eventually(() => fs.existsSync(pidfile), 10_000), 'pid file written');
  const pid = Number(fs.readFileSync(pidfile, 'utf8'));
  try {
    assert.ok(await eventually(async () => (await fetch(`http://127.0.0.1:${port}/`).catch(() => null))?.status === 200, 20_000));
    process.kill(pid, 'SIGWINCH');
    assert.ok(await eventually(async () => (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(300) }).catch(() => null)) === null, 10_000), 'WINCH stopped the workers');
    assert.ok(alive(pid), 'the arbiter stays after WINCH');
  } finally {
    process.kill(pid, 'SIGTERM');
    assert.ok(await eventually(() => !alive(pid), 10_000), 'TERM ends the daemon');
  }
  assert.not.ok(fs.existsSync(pidfile));
});

proc('--preload imports the app in the arbiter: a broken app fails before any worker', async () => {
  const r = await runCli(['--preload', '--chdir', WSGI, '-b', '127.0.0.1:0', 'broken.factory_raises:create_app()']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /RuntimeError: factory exploded/);
  assert.not.match(r.stderr, /Booting worker/);
});

proc('--preload with a good app serves as usual', async () => {
  const srv = await startServer(['--preload', '--chdir', WSGI, 'hello']);
  try {
    assert.is(await text(`${srv.url}/`), 'Hello, World!\n');
  } finally {
    await srv.stop();
  }
});

proc('-u/-g: workers run as the given user and group', async () => {
  if (process.getuid?.() !== 0) {
    console.warn('  (skipped: needs root to change user)');
    return;
  }
  const srv = await startServer(['-u', 'nobody', '-g', 'nogroup', '--chdir', WSGI, 'hello']);
  try {
    assert.is(await text(`${srv.url}/`), 'Hello, World!\n');
    const status = fs.readFileSync(`/proc/${srv.workerPids()[0]}/status`, 'utf8');
    assert.match(status, /^Uid:\s+65534\s/m);
    assert.match(status, /^Gid:\s+65534\s/m);
    assert.match(fs.readFileSync(`/proc/${srv.pid}/status`, 'utf8'), /^Uid:\s+0\s/m, 'the arbiter keeps its user');
  } finally {
    await srv.stop();
  }
});

proc('cleanup', () => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

proc.run();
