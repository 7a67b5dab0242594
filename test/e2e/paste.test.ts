// --paste: an app a PasteDeploy config file names (fixtures/pasteapp/shop.ini,
// PasteDeploy from Debian's python3-pastedeploy), loaded as Gunicorn's
// pasterapp.get_wsgi_app loads it: the section after '#', --paste-global
// values in global_conf, the file as default_proc_name, and its [loggers]
// section as the logging configuration.

import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, PACKAGES, runCli, startServer, type Server } from '../helpers/server.js';

const DIR = path.join(FIXTURES, 'pasteapp');
const INI = path.join(DIR, 'shop.ini');
const ARGS = ['--paste', 'shop.ini#admin', '--paste-global', 'region=eu', '--pythonpath', PACKAGES];

const paste = suite<{ srv: Server | null }>('--paste');

paste.after(async (ctx) => {
  await ctx.srv?.stop();
});

paste('the #admin section is served, with --paste-global in global_conf; the ini\'s [loggers] format the log', async (ctx) => {
  const srv = (ctx.srv = await startServer(ARGS, { cwd: DIR }));
  const res = await fetch(srv.url + '/');
  assert.is(res.status, 200);
  assert.is(await res.text(), `hello from admin|eu|${INI}`);
  // shop.ini's formatter, applied to the arbiter's lines as logconfig would be.
  assert.match(srv.log(), /^PASTE-LOG INFO Listening at: http:\/\/127\.0\.0\.1:\d+/m);
  assert.match(srv.log(), /^PASTE-LOG INFO Booting worker with pid: \d+/m);
});

paste('settings: the URI made absolute, the file as default_proc_name and logconfig (--print-config)', async () => {
  const r = await runCli([...ARGS, '--print-config'], { cwd: DIR });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^paste += ${INI}#admin$`, 'm'));
  assert.match(r.stdout, new RegExp(`^default_proc_name += ${INI}$`, 'm'));
  assert.match(r.stdout, new RegExp(`^logconfig += ${INI}$`, 'm'));
});

paste('a missing file and a --paste-global without "=" stop the start, naming them', async () => {
  const missing = await runCli(['--paste', 'nope.ini'], { cwd: DIR });
  assert.is(missing.code, 1);
  assert.match(missing.stderr, `Error: '${path.join(DIR, 'nope.ini')}' not found`);
  const bad = await runCli(['--paste', 'shop.ini', '--paste-global', 'region'], { cwd: DIR });
  assert.is(bad.code, 1);
  assert.match(bad.stderr, "raw_paste_global_conf: environment setting 'region' invalid");
});

paste.run();
