// Gunicorn settings from a real config file (fixtures/ops/gunicorn.conf.py):
// default_proc_name names the processes, initgroups gives a worker the
// user's groups, spew traces every line of the worker's Python; sendfile
// (on by default, --no-sendfile) decides whether Python reads a
// wsgi.file_wrapper's file.

import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, eventually, startServer, type Server } from '../helpers/server.js';

const OPS = path.join(FIXTURES, 'ops');
const root = process.getuid?.() === 0;

const ops = suite<{ srv: Server }>('default_proc_name, initgroups, spew');

ops.after(async (ctx) => {
  await ctx.srv?.stop();
});

ops('the config file names the processes; a worker has the user\'s groups; every line the app runs is printed', async (ctx) => {
  // -u/-g need root; without it initgroups has nothing to do and is not checked.
  ctx.srv = await startServer(['-c', path.join(OPS, 'gunicorn.conf.py'), '--chdir', OPS, ...(root ? ['-u', 'nobody', '-g', 'nogroup'] : []), 'app']);
  const { srv } = ctx;
  const res = await fetch(srv.url);
  assert.is(await res.text(), 'ops');
  const worker = srv.workerPids()[0]!;
  assert.is(fs.readFileSync(`/proc/${srv.pid}/cmdline`, 'utf8').replace(/\0+$/, ''), 'nicorn-py: master [ops-fixture]');
  assert.is(fs.readFileSync(`/proc/${worker}/cmdline`, 'utf8').replace(/\0+$/, ''), 'nicorn-py: worker [ops-fixture]');
  if (root) {
    const status = fs.readFileSync(`/proc/${worker}/status`, 'utf8');
    // nobody belongs to nogroup only: root's group 0 is gone from the list.
    assert.match(status, /^Groups:\s+65534\s*$/m);
    assert.match(status, /^Gid:\s+65534\s/m);
  }
  // Gunicorn's spew format, module:line: source, for the app's lines as the request ran them.
  assert.ok(await eventually(() => srv.stdio().includes('app:12:     start_response("200 OK"'), 10_000), srv.stdio().slice(-2000));
  assert.match(srv.stdio(), /^app:7:     body = b"ops"$/m);
});

const fileText = fs.readFileSync(path.join(OPS, 'app.py'), 'utf8');

ops("sendfile (the default): a file_wrapper's host file is streamed without Python calling its read()", async ({ srv }) => {
  assert.is(await (await fetch(`${srv.url}/file`)).text(), fileText);
  assert.is(await (await fetch(`${srv.url}/reads`)).text(), '0');
});

ops('--no-sendfile: Python reads it through read(), block by block', async () => {
  const srv = await startServer(['--no-sendfile', '--chdir', OPS, 'app']);
  try {
    assert.is(await (await fetch(`${srv.url}/file`)).text(), fileText);
    // 64-byte blocks, and the read() that finds the end.
    assert.is(await (await fetch(`${srv.url}/reads`)).text(), String(Math.ceil(Buffer.byteLength(fileText) / 64) + 1));
  } finally {
    await srv.stop();
  }
});

ops.run();
