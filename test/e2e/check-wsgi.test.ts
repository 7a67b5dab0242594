// --check-wsgi end to end: every deliberately broken app in fixtures/wsgicheck
// (one per rule) is caught and reported, everything wsgiref.validate catches
// (run on the same apps inside the worker's Python) is caught too, the
// summary comes on SIGPWR and at shutdown, the JSON report is written and the
// exit status says whether anything was seen; the Flask and Django fixtures
// give an empty report and exit 0.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, PACKAGES, eventually, startServer } from '../helpers/server.js';

interface Case {
  rule: string;
  method: string;
  body: string;
}
interface Verdict {
  rule: string;
  caught: boolean;
  message: string | null;
  other: string | null;
}
interface RuleSpec {
  id: string;
  explanation: string;
  cites: string;
  wsgiref: boolean;
}
interface Violation {
  rule: string;
  advice: boolean;
  count: number;
  first_request: string;
  location: string;
  routes: string[];
  explanation: string;
  cites: string;
}
interface Report {
  total: number;
  violations: Violation[];
}

const BROKEN = path.join(FIXTURES, 'wsgicheck');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-check-test-'));

/** The status; 0 when the connection closed mid-body (a short Content-Length does that). */
async function send(url: string, c: Case): Promise<number> {
  const res = await fetch(`${url}/${c.rule}`, { method: c.method, body: c.body === '' ? undefined : c.body });
  try {
    await res.arrayBuffer();
  } catch {
    return 0;
  }
  return res.status;
}

const check = suite('--check-wsgi');

check('every broken app is reported under its rule, with file:line; wsgiref.validate catches nothing more', async () => {
  const dir = tmp();
  const reportFile = path.join(dir, 'report.json');
  // wsgiref.validate first, inside the worker's Python, without the mode.
  const ref = await startServer(['-w', '1', '--chdir', BROKEN, 'broken:under_wsgiref']);
  let cases: Case[];
  let rules: Record<string, RuleSpec>;
  const verdicts = new Map<string, Verdict>();
  try {
    cases = (await (await fetch(`${ref.url}/__cases__`)).json()) as Case[];
    rules = (await (await fetch(`${ref.url}/__rules__`)).json()) as Record<string, RuleSpec>;
    for (const c of cases) {
      // HEAD has no body to carry the verdict: ask with GET, the app is the same.
      const res = await fetch(`${ref.url}/${c.rule}`, { method: c.method === 'HEAD' ? 'GET' : c.method, body: c.body || undefined });
      verdicts.set(c.rule, (await res.json()) as Verdict);
    }
  } finally {
    await ref.stop();
  }
  assert.equal(cases.map((c) => c.rule).sort(), Object.keys(rules).sort(), 'one broken app per rule, and a rule for each');

  const srv = await startServer(['-w', '2', '--check-wsgi', '--check-wsgi-report', reportFile, '--chdir', BROKEN, 'broken:app']);
  let code: number | null;
  try {
    assert.is(await send(srv.url, { rule: '', method: 'GET', body: '' }), 200, 'the correct app at /');
    for (const c of cases) await send(srv.url, c);
    // The summary so far, on SIGPWR, without stopping.
    process.kill(srv.pid, 'SIGPWR');
    assert.ok(await eventually(() => /Handling signal: pwr[\s\S]*WSGI check: \d+ violations of \d+ rules/.test(srv.log())), 'summary on SIGPWR');
    assert.is(await send(srv.url, { rule: '', method: 'GET', body: '' }), 200, 'still serving after SIGPWR');
  } finally {
    code = await srv.stop();
  }
  assert.is(code, 1, 'violations seen: exit status 1');
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Report;
  const byRule = new Map(report.violations.map((v) => [v.rule, v]));
  for (const c of cases) {
    const v = byRule.get(c.rule);
    assert.ok(v, `${c.rule} is in the report`);
    assert.ok(v.routes.includes(`/${c.rule}`), `${c.rule} seen on its own route`);
    assert.match(v.location, /fixtures\/wsgicheck\/broken\.py:\d+$/, `${c.rule}: where in the app`);
    assert.is(v.explanation, rules[c.rule]!.explanation);
    assert.match(v.cites, /PEP 3333|RFC \d+/, `${c.rule} cites its source`);
    // Logged once per rule and route, with where it happened.
    const logged = srv.log().split('\n').filter((l) => l.includes(`WSGI check [${c.rule}] ${c.method} /${c.rule} at `));
    assert.is(logged.length, 1, `${c.rule} logged once for its route`);
  }
  // The correct route at / never shows up.
  for (const v of report.violations) assert.not.ok(v.routes.includes('/'), `${v.rule} not on /`);
  assert.match(srv.log(), /Shutting down: Master[\s\S]*WSGI check: \d+ violations of \d+ rules, and advice on 1 more\ncount +rule +first request +where\n/);
  assert.ok(byRule.get('response.body-on-head')!.advice, 'a body for HEAD is advice: the server drops it');
  assert.is(report.total, report.violations.filter((v) => !v.advice).reduce((n, v) => n + v.count, 0));
  // wsgiref.validate: whatever it caught was caught here too, and the table's marks are true.
  for (const c of cases) {
    const verdict = verdicts.get(c.rule)!;
    assert.is(verdict.caught, rules[c.rule]!.wsgiref, `${c.rule}: wsgiref.validate ${verdict.caught ? 'catches' : 'misses'} it (${verdict.message ?? verdict.other})`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Serves `args` under --check-wsgi, runs `requests`, stops; returns the report after checking it has no violation. */
async function cleanRun(args: string[], requests: (url: string) => Promise<void>): Promise<Report> {
  const dir = tmp();
  const reportFile = path.join(dir, 'report.json');
  const srv = await startServer(['--check-wsgi', '--check-wsgi-report', reportFile, ...args]);
  let code: number | null;
  try {
    await requests(srv.url);
  } finally {
    code = await srv.stop();
  }
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Report;
  assert.equal(report.violations.filter((v) => !v.advice), [], `no violations:\n${srv.log()}`);
  assert.is(report.total, 0);
  assert.is(code, 0);
  fs.rmSync(dir, { recursive: true, force: true });
  return report;
}

const expectStatus = async (p: Promise<Response>, status: number) => {
  const res = await p;
  await res.arrayBuffer();
  assert.is(res.status, status, res.url);
};

check('the Flask fixture gives an empty report', async () => {
  const report = await cleanRun(['--chdir', path.join(FIXTURES, 'flaskapp'), '--pythonpath', PACKAGES, 'app:app'], async (url) => {
    await expectStatus(fetch(`${url}/`), 200);
    await expectStatus(fetch(`${url}/json?x=1`), 200);
    await expectStatus(fetch(`${url}/hello/W%C3%B6rld`), 200);
    await expectStatus(fetch(`${url}/form`, { method: 'POST', body: new URLSearchParams({ a: '1', b: 'ü' }) }), 200);
    const form = new FormData();
    form.append('file', new Blob([Buffer.alloc(50_000, 7)]), 'f.bin');
    await expectStatus(fetch(`${url}/upload`, { method: 'POST', body: form }), 200);
    await expectStatus(fetch(`${url}/session/set?v=1`), 200);
    await expectStatus(fetch(`${url}/redirect`, { redirect: 'manual' }), 302);
    await expectStatus(fetch(`${url}/nowhere`), 404);
    await expectStatus(fetch(`${url}/`, { method: 'HEAD' }), 200);
    await expectStatus(fetch(`${url}/boom`), 500);
  });
  assert.equal(report.violations, [], 'werkzeug drops a HEAD body itself: not even advice');
});

check('the Django fixture gives an empty report (and advice for HEAD, whose body Django leaves to the server)', async () => {
  const report = await cleanRun(['--chdir', path.join(FIXTURES, 'djangolite'), '--pythonpath', PACKAGES, 'app:application'], async (url) => {
    await expectStatus(fetch(`${url}/`), 200);
    await expectStatus(fetch(`${url}/hello/W%C3%B6rld`), 200);
    await expectStatus(fetch(`${url}/notes`, { method: 'POST', body: new URLSearchParams({ text: 'a note' }) }), 200);
    await expectStatus(fetch(`${url}/notes`), 200);
    await expectStatus(fetch(`${url}/nowhere`), 404);
    await expectStatus(fetch(`${url}/boom`), 500);
    await expectStatus(fetch(`${url}/notes`, { method: 'HEAD' }), 200);
  });
  assert.equal(report.violations.map((v) => v.rule), ['response.body-on-head']);
});

check('without the mode nothing is checked and the exit status is 0', async () => {
  const srv = await startServer(['--chdir', BROKEN, 'broken:app']);
  let code: number | null;
  try {
    await send(srv.url, { rule: 'headers.duplicate', method: 'GET', body: '' });
  } finally {
    code = await srv.stop();
  }
  assert.is(code, 0);
  assert.not.match(srv.log(), /WSGI check/);
});

check.run();
