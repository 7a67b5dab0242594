// Real apps end to end, as their authors wrote them: Flask's tutorial app
// (fixtures/flaskr) and a Django 5.2 project made by startproject
// (fixtures/djangoproject). Each is served with -w 2 by the real CLI from a
// copy in a temporary folder (the apps write their databases beside their
// code), its first-deployment step (init-db; migrate + createsuperuser) run by
// its gunicorn.conf.py in the master, and driven as a browser drives it: one
// connection per request, cookies kept, forms posted with their CSRF tokens.

import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURES, PACKAGES, eventually, sleep, startServer, type Server } from '../helpers/server.js';

// ---------------------------------------------------------------- helpers

/** Copies fixtures/<name> to a fresh temporary folder, without bytecode or databases. */
function copyProject(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nicorn-${name}-`));
  fs.cpSync(path.join(FIXTURES, name), dir, {
    recursive: true,
    filter: (src) => !/(__pycache__|\.sqlite3?)$/.test(src),
  });
  return dir;
}

interface Page {
  status: number;
  location: string | null;
  setCookies: string[];
  body: string;
}

/**
 * A browser's share of HTTP: a cookie jar, forms, redirects left to the test.
 * Every request opens its own connection (node:http without an agent sends
 * Connection: close), so that both workers of -w 2 take part.
 */
class Browser {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  get(p: string): Promise<Page> {
    return this.request('GET', p);
  }

  /** Posts an urlencoded form, with the Origin header a browser sends. */
  post(p: string, form: Record<string, string>): Promise<Page> {
    const body = Buffer.from(new URLSearchParams(form).toString());
    return this.request('POST', p, body, {
      'Content-Type': 'application/x-www-form-urlencoded',
      Origin: this.base,
    });
  }

  private request(method: string, p: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Page> {
    const url = new URL(p, this.base);
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    return new Promise((resolve, reject) => {
      const req = http.request(
        url,
        {
          method,
          agent: false,
          headers: { ...headers, ...(cookie ? { Cookie: cookie } : {}), ...(body ? { 'Content-Length': body.length } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const setCookies = res.headers['set-cookie'] ?? [];
            for (const line of setCookies) this.store(line);
            resolve({
              status: res.statusCode!,
              location: res.headers.location ?? null,
              setCookies,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
        },
      );
      req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${p}: no answer within 60 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Keeps or deletes one Set-Cookie (deleted: an expiry in the past or Max-Age=0). */
  private store(line: string): void {
    const [pair, ...attrs] = line.split(';');
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq).trim();
    const value = pair!.slice(eq + 1).trim();
    const expired = attrs.some((a) => {
      const [k, v = ''] = a.split('=').map((s) => s.trim());
      if (/^max-age$/i.test(k!)) return Number(v) <= 0;
      if (/^expires$/i.test(k!)) return Date.parse(v) <= Date.now();
      return false;
    });
    if (expired) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}

/** The value of the form field `name` in an HTML page. */
function formValue(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html) ?? new RegExp(`value="([^"]*)" name="${name}"`).exec(html);
  assert.ok(m, `the page has a ${name} field:\n${html.slice(0, 2000)}`);
  return m![1]!;
}

/**
 * Runs SQL on a database with the host's sqlite3 CLI (Debian package sqlite3):
 * what another process on the host reads, not what the workers believe.
 */
function hostSql(db: string, sql: string): string {
  return execFileSync('sqlite3', ['-readonly', db, sql], { encoding: 'utf8' }).trim();
}

/** Pids that answered requests, from an access log in the format '%(p)s %(r)s %(s)s'. */
function servingPids(log: string): Set<string> {
  return new Set([...log.matchAll(/^<(\d+)> (?:GET|POST) /gm)].map((m) => m[1]!));
}

const ACCESS_LOG = ['--access-logfile', '-', '--access-logformat', '%(p)s %(r)s %(s)s'];

/**
 * Repeats `visit` (requests on new connections) until the access log shows that
 * both workers served, for 30 s at most: what one worker wrote (a session, a
 * row) must be what the other reads. Which worker accepts is the kernel's
 * choice, and a worker still booting takes nothing, hence the repetition.
 */
async function onBothWorkers(srv: Server, visit: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 30_000;
  do await visit();
  while (servingPids(srv.log()).size < 2 && Date.now() < deadline);
  assert.ok(
    await eventually(() => servingPids(srv.log()).size === 2, 1000),
    `both workers served: ${[...servingPids(srv.log())]} (workers ${srv.workerPids()})`,
  );
}

/** The browser of a suite's first case, which starts the server: later cases go on from where it stopped. */
function started<T extends { browser: Browser }>(ctx: T): T {
  assert.ok(ctx.browser, "the suite's first case did not get as far as starting the server");
  return ctx;
}

// ---------------------------------------------------------------- flaskr

interface FlaskrContext {
  dir: string;
  srv: Server;
  browser: Browser;
  secretKey: string;
  username: string;
  password: string;
}

const flaskr = suite<FlaskrContext>("Flask's tutorial app (flaskr), -w 2");

flaskr.after(async (ctx) => {
  await ctx.srv?.stop();
  if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
});

flaskr('first start: init-db runs in the master and writes instance/flaskr.sqlite on the host', async (ctx) => {
  ctx.dir = copyProject('flaskr');
  // The tutorial's "Configure the Secret Key" step: a key of the deployment's own.
  ctx.secretKey = crypto.randomBytes(32).toString('hex');
  fs.writeFileSync(path.join(ctx.dir, 'instance', 'config.py'), `SECRET_KEY = '${ctx.secretKey}'\n`);
  ctx.username = `reader-${crypto.randomBytes(3).toString('hex')}`;
  ctx.password = crypto.randomBytes(9).toString('base64url');
  ctx.srv = await startServer([
    '-w', '2', ...ACCESS_LOG,
    '-c', path.join(ctx.dir, 'gunicorn.conf.py'),
    '--chdir', ctx.dir, '--pythonpath', PACKAGES,
    'flaskr:create_app()',
  ]);
  ctx.browser = new Browser(ctx.srv.url);

  const hello = await ctx.browser.get('/hello');
  assert.is(hello.status, 200, ctx.srv.log());
  assert.is(hello.body, 'Hello, World!');
  assert.match(ctx.srv.log(), /Initialized the database\./, 'the flask command ran');
  const db = path.join(ctx.dir, 'instance', 'flaskr.sqlite');
  assert.ok(fs.existsSync(db), `the database is ${db}, in the project's instance folder`);

  const index = await ctx.browser.get('/');
  assert.is(index.status, 200);
  assert.match(index.body, /<title>Posts - Flaskr<\/title>/);
  assert.match(index.body, /<a href="\/auth\/register">Register<\/a>[\s\S]*<a href="\/auth\/login">Log In<\/a>/);
  assert.not.match(index.body, /<article/, 'no posts yet');
});

flaskr('register stores a scrypt hash (Werkzeug\'s default) in the database file', async (ctx) => {
  const { dir, browser, srv, username, password } = started(ctx);
  const form = await browser.get('/auth/register');
  assert.is(form.status, 200);
  assert.match(form.body, /<h1>Register<\/h1>/);
  const res = await browser.post('/auth/register', { username, password });
  assert.is(res.status, 302, `register answered ${res.status}:\n${srv.log().slice(-3000)}`);
  assert.is(res.location, '/auth/login');
  const again = await browser.post('/auth/register', { username, password });
  assert.is(again.status, 200);
  assert.match(again.body, new RegExp(`<div class="flash">User ${username} is already registered\\.</div>`), 'the UNIQUE constraint holds');
  // The committed row is in the host's file: scrypt:N:r:p$salt$hash, as generate_password_hash writes it.
  const bytes = fs.readFileSync(path.join(dir, 'instance', 'flaskr.sqlite')).toString('latin1');
  assert.match(bytes, /scrypt:32768:8:1\$[A-Za-z0-9]{16}\$[0-9a-f]{128}/);
  assert.ok(bytes.includes(username));
});

flaskr('login checks the password and signs the session with instance/config.py\'s SECRET_KEY', async (ctx) => {
  const { browser, username, password, secretKey } = started(ctx);
  const wrong = await browser.post('/auth/login', { username, password: `${password}x` });
  assert.is(wrong.status, 200);
  assert.match(wrong.body, /<div class="flash">Incorrect password\.<\/div>/);

  const res = await browser.post('/auth/login', { username, password });
  assert.is(res.status, 302);
  assert.is(res.location, '/');
  const session = browser.cookies.get('session');
  assert.ok(session, `a session cookie: ${res.setCookies}`);
  // itsdangerous' TimestampSigner as Flask uses it: HMAC-SHA1 under a key derived
  // from SECRET_KEY with the salt "cookie-session". Signed with "dev" (the
  // factory's default), the instance config would have been ignored.
  const cut = session!.lastIndexOf('.');
  const key = crypto.createHmac('sha1', secretKey).update('cookie-session').digest();
  assert.is(session!.slice(cut + 1), crypto.createHmac('sha1', key).update(session!.slice(0, cut)).digest('base64url'), 'signed with the instance key');
});

flaskr('a logged-in user creates a post; the index shows it on every worker', async (ctx) => {
  const { browser, username, srv } = started(ctx);
  const form = await browser.get('/create');
  assert.is(form.status, 200, 'logged in: no redirect to the login page');
  assert.match(form.body, /<h1>New Post<\/h1>/);
  const title = `Hello <from> ${username}`;
  const body = 'First line\nsecond line & more';
  const res = await browser.post('/create', { title, body });
  assert.is(res.status, 302);
  assert.is(res.location, '/');

  const today = new Date().toISOString().slice(0, 10); // CURRENT_TIMESTAMP is UTC
  await onBothWorkers(srv, async () => {
    const index = await browser.get('/');
    assert.is(index.status, 200);
    assert.match(index.body, /<h1>Hello &lt;from&gt; reader-[0-9a-f]{6}<\/h1>/, 'the title, escaped');
    assert.match(index.body, new RegExp(`<div class="about">by ${username} on ${today}</div>`));
    assert.match(index.body, /<p class="body">First line\nsecond line &amp; more<\/p>/);
    assert.match(index.body, /<a class="action" href="\/1\/update">Edit<\/a>/, 'the author may edit');
    assert.match(index.body, new RegExp(`<li><span>${username}</span>`), 'the session is valid on this worker');
  });
});

flaskr('logout clears the session', async (ctx) => {
  const { browser } = started(ctx);
  const res = await browser.get('/auth/logout');
  assert.is(res.status, 302);
  assert.is(res.location, '/');
  assert.is(browser.cookies.get('session'), undefined, `the session cookie is deleted: ${res.setCookies}`);
  const index = await browser.get('/');
  assert.match(index.body, /<a href="\/auth\/login">Log In<\/a>/);
  assert.not.match(index.body, /href="\/create"|Edit<\/a>/);
  assert.match(index.body, /<h1>Hello &lt;from&gt; /, 'the post stays');
  const create = await browser.get('/create');
  assert.is(create.status, 302);
  assert.is(create.location, '/auth/login', 'login_required');
});

flaskr('24 registrations at once: every 302 is its own row in the file on disk', async (ctx) => {
  const { dir, srv } = started(ctx);
  const names = Array.from({ length: 24 }, (_, i) => `crowd-${i}`);
  const answers = await Promise.all(names.map((username) => new Browser(srv.url).post('/auth/register', { username, password: 'pw' })));
  assert.equal(
    answers.map((r) => r.status),
    names.map(() => 302),
    `every registration answered 302:\n${srv.log().slice(-3000)}`,
  );
  const db = path.join(dir, 'instance', 'flaskr.sqlite');
  assert.is(hostSql(db, "SELECT count(*), count(DISTINCT id) FROM user WHERE username LIKE 'crowd-%'"), '24|24');
});

flaskr("a registration waits while a host process holds the database's EXCLUSIVE lock", async (ctx) => {
  const { dir, srv } = started(ctx);
  const db = path.join(dir, 'instance', 'flaskr.sqlite');
  const holder = spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  holder.stdout.on('data', (d) => (out += d));
  holder.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => holder.once('exit', resolve));
  try {
    holder.stdin.write("BEGIN EXCLUSIVE;\nSELECT 'locked';\n");
    assert.ok(await eventually(() => out.includes('locked')), `the sqlite3 CLI holds the lock: ${err}`);
    let answeredAt = 0;
    let early = '';
    const t0 = Date.now();
    const pending = new Browser(srv.url).post('/auth/register', { username: 'patient', password: 'pw' }).then((r) => {
      answeredAt = Date.now();
      early = `HTTP ${r.status} after ${answeredAt - t0} ms`;
      return r;
    });
    // sqlite3.connect's busy timeout is 5 s: the INSERT waits for the lock that long.
    await sleep(2000);
    assert.is(early, '', `no answer while the host process holds the lock:\n${srv.log().slice(-2000)}`);
    holder.stdin.end("INSERT INTO user (username, password) VALUES ('holder', 'x');\nCOMMIT;\n");
    assert.is(await exited, 0, `the lock holder's COMMIT succeeded: ${err}`);
    const res = await pending;
    assert.is(res.status, 302, `answered ${res.status} ${answeredAt - t0} ms after the request:\n${srv.log().slice(-3000)}`);
  } finally {
    if (holder.exitCode === null) holder.kill('SIGKILL');
  }
  assert.is(hostSql(db, "SELECT group_concat(username) FROM (SELECT username FROM user WHERE username IN ('holder', 'patient') ORDER BY id)"), 'holder,patient');
});

flaskr.run();

// ---------------------------------------------------------------- Django

interface DjangoContext {
  dir: string;
  srv: Server;
  browser: Browser;
  password: string;
  question: string;
}

const django = suite<DjangoContext>('Django 5.2 startproject with the admin, -w 2');

django.after(async (ctx) => {
  await ctx.srv?.stop();
  if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
});

django('first start: migrate and createsuperuser run in the master; /admin/ asks for a login', async (ctx) => {
  ctx.dir = copyProject('djangoproject');
  ctx.password = crypto.randomBytes(12).toString('base64url');
  ctx.srv = await startServer(
    ['-w', '2', ...ACCESS_LOG, '-c', path.join(ctx.dir, 'gunicorn.conf.py'), '--chdir', ctx.dir, '--pythonpath', PACKAGES, 'mysite.wsgi'],
    {
      env: {
        DJANGO_SUPERUSER_USERNAME: 'admin',
        DJANGO_SUPERUSER_PASSWORD: ctx.password,
        DJANGO_SUPERUSER_EMAIL: 'admin@example.com',
      },
    },
  );
  ctx.browser = new Browser(ctx.srv.url);

  const admin = await ctx.browser.get('/admin/');
  assert.is(admin.status, 302, `GET /admin/ answered ${admin.status}:\n${ctx.srv.log().slice(-4000)}`);
  assert.is(admin.location, '/admin/login/?next=/admin/');
  const log = ctx.srv.log();
  assert.match(log, /Applying polls\.0001_initial\.\.\. OK/, 'migrate ran');
  assert.match(log, /Superuser created successfully\./, 'createsuperuser ran');
  // db.sqlite3 under BASE_DIR, on the host, with the PBKDF2 hash Django 5.2 writes.
  const bytes = fs.readFileSync(path.join(ctx.dir, 'db.sqlite3')).toString('latin1');
  assert.match(bytes, /pbkdf2_sha256\$1000000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{43}=/);
});

django('the login page, a wrong password, then the superuser logs in', async (ctx) => {
  const { browser, password, srv } = started(ctx);
  const page = await browser.get('/admin/login/?next=/admin/');
  assert.is(page.status, 200, `login page answered ${page.status}:\n${srv.log().slice(-4000)}`);
  assert.match(page.body, /<title>Log in \| Django site admin<\/title>/);
  assert.ok(browser.cookies.get('csrftoken'), 'the CSRF cookie');
  const login = (pw: string) =>
    browser.post('/admin/login/?next=/admin/', {
      csrfmiddlewaretoken: formValue(page.body, 'csrfmiddlewaretoken'),
      username: 'admin',
      password: pw,
      next: '/admin/',
    });

  const wrong = await login(`${password}x`);
  assert.is(wrong.status, 200);
  assert.match(wrong.body, /Please enter the correct username and password for a staff account/);

  const res = await login(password);
  assert.is(res.status, 302, `login answered ${res.status}:\n${res.body.slice(0, 2000)}\n${srv.log().slice(-4000)}`);
  assert.is(res.location, '/admin/');
  assert.ok(browser.cookies.get('sessionid'), `a session: ${res.setCookies}`);
});

django('the admin index lists the polls app', async (ctx) => {
  const { browser } = started(ctx);
  const index = await browser.get('/admin/');
  assert.is(index.status, 200);
  assert.match(index.body, /<title>Site administration \| Django site admin<\/title>/);
  assert.match(index.body, /<a href="\/admin\/polls\/question\/">Questions<\/a>/);
  assert.match(index.body, /<a href="\/admin\/auth\/user\/">Users<\/a>/);
});

django("the model's add page saves a question; its list page shows it", async (ctx) => {
  const { browser } = started(ctx);
  const empty = await browser.get('/admin/polls/question/');
  assert.is(empty.status, 200);
  assert.match(empty.body, /<title>Select question to change \| Django site admin<\/title>/);
  assert.match(empty.body, /0 questions/);

  const add = await browser.get('/admin/polls/question/add/');
  assert.is(add.status, 200);
  assert.match(add.body, /<title>Add question \| Django site admin<\/title>/);
  const now = new Date(Date.now() - 60_000); // TIME_ZONE = 'UTC'
  ctx.question = `What's new in ${crypto.randomBytes(3).toString('hex')}?`;
  const saved = await browser.post('/admin/polls/question/add/', {
    csrfmiddlewaretoken: formValue(add.body, 'csrfmiddlewaretoken'),
    question_text: ctx.question,
    pub_date_0: now.toISOString().slice(0, 10),
    pub_date_1: now.toISOString().slice(11, 19),
    'choice_set-TOTAL_FORMS': '1',
    'choice_set-INITIAL_FORMS': '0',
    'choice_set-MIN_NUM_FORMS': '0',
    'choice_set-MAX_NUM_FORMS': '1000',
    'choice_set-0-choice_text': 'Not much',
    'choice_set-0-votes': '0',
    _save: 'Save',
  });
  assert.is(saved.status, 302, `add answered ${saved.status}:\n${saved.body.slice(0, 3000)}`);
  assert.is(saved.location, '/admin/polls/question/');

  await onBothWorkers(ctx.srv, async () => {
    const list = await browser.get('/admin/polls/question/');
    assert.is(list.status, 200, 'the session (in db.sqlite3) is valid on this worker');
    assert.match(list.body, /1 question/);
    assert.ok(list.body.includes(ctx.question.replace("'", '&#x27;')), 'the question is listed');
    assert.match(list.body, /<img src="\/static\/admin\/img\/icon-yes\.svg" alt="True">/, 'published recently, in UTC');
    assert.match(list.body, /<a href="\?pub_date__gte=[^"]+">Today<\/a>/, "the date filter's links");
  });
});

django('logout (a POST since Django 5.0) ends the session', async (ctx) => {
  const { browser } = started(ctx);
  const index = await browser.get('/admin/');
  const res = await browser.post('/admin/logout/', { csrfmiddlewaretoken: formValue(index.body, 'csrfmiddlewaretoken') });
  assert.is(res.status, 200);
  assert.match(res.body, /<title>Logged out \| Django site admin<\/title>/);
  const after = await browser.get('/admin/');
  assert.is(after.status, 302);
  assert.is(after.location, '/admin/login/?next=/admin/');
});

django.run();
