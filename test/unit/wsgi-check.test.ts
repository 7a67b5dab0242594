// The arbiter's half of --check-wsgi: adding up the workers' files, the
// summary table, the report file.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveSettings } from '../../src/config/settings.js';
import { WsgiCheck, summaryTable } from '../../src/arbiter/wsgi-check.js';

const settings = (dir: string) => resolveSettings({ wsgi_app: 'app:app', check_wsgi: true, worker_tmp_dir: dir });

function entry(rule: string, count: number, time: number, request: string, routes: string[]) {
  return { rule, explanation: `${rule} explained`, cites: 'PEP 3333', advice: rule.startsWith('advice'), count, first: { time, request, location: `app.py:${count}`, detail: 'd' }, routes };
}

test('collect adds up every worker file per rule: counts summed, routes merged, the earliest first request kept', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-check-unit-'));
  const check = WsgiCheck.create(settings(tmp));
  assert.ok(check.dir.startsWith(tmp), 'made in --worker-tmp-dir');
  const write = (pid: number, rules: unknown[]) => fs.writeFileSync(path.join(check.dir, `worker-${pid}.json`), JSON.stringify({ rules }));
  write(10, [entry('b.rule', 2, 200, 'GET /late', ['/late']), entry('a.rule', 1, 50, 'GET /a', ['/a'])]);
  write(11, [entry('b.rule', 3, 100, 'GET /early', ['/early', '/late']), entry('advice.rule', 4, 1, 'HEAD /', ['/'])]);
  fs.writeFileSync(path.join(check.dir, 'worker-12.json.tmp'), 'half written');
  fs.writeFileSync(path.join(check.dir, 'worker-13.json'), '{broken');
  const report = check.collect();
  assert.is(report.total, 6, 'advice not counted');
  assert.equal(report.violations.map((v) => v.rule), ['a.rule', 'advice.rule', 'b.rule']);
  assert.ok(report.violations[1]!.advice);
  const b = report.violations[2]!;
  assert.is(b.count, 5);
  assert.is(b.first_request, 'GET /early');
  assert.is(b.location, 'app.py:3');
  assert.equal(b.routes.sort(), ['/early', '/late']);
  check.remove();
  assert.not.ok(fs.existsSync(check.dir));
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('summaryTable: one aligned line per rule, or a line saying nothing was seen', () => {
  assert.is(summaryTable({ server: 'x', total: 0, violations: [] }), 'WSGI check: no violations seen');
  const advice = { rule: 'response.body-on-head', explanation: '', cites: '', advice: true, count: 3, first_request: 'HEAD /', location: 'a.py:1', detail: '', routes: [] };
  assert.equal(summaryTable({ server: 'x', total: 0, violations: [advice] }).split('\n'), [
    'WSGI check: 0 violations of 0 rules, and advice on 1 more',
    'count  rule                            first request  where',
    '    3  response.body-on-head (advice)  HEAD /         a.py:1',
  ]);
  const table = summaryTable({
    server: 'x',
    total: 12,
    violations: [
      { rule: 'headers.hop-by-hop', explanation: '', cites: '', advice: false, count: 11, first_request: 'GET /a', location: 'app.py:1', detail: '', routes: [] },
      { rule: 'status.format', explanation: '', cites: '', advice: false, count: 1, first_request: 'POST /bb', location: 'app.py:22', detail: '', routes: [] },
    ],
  });
  assert.equal(table.split('\n'), [
    'WSGI check: 12 violations of 2 rules',
    'count  rule                first request  where',
    '   11  headers.hop-by-hop  GET /a         app.py:1',
    '    1  status.format       POST /bb       app.py:22',
  ]);
});

test('--check-wsgi-report without --check-wsgi is an error naming both', () => {
  assert.throws(() => resolveSettings({ wsgi_app: 'app:app', check_wsgi_report: 'r.json' }), /check_wsgi_report needs check_wsgi \(--check-wsgi\)/);
  assert.is(resolveSettings({ wsgi_app: 'app:app', check_wsgi_report: 'r.json', check_wsgi: true }).check_wsgi_report, 'r.json');
});

test.run();
