// nicorn-py behind Debian's nginx (nginx-light), deployed the way Gunicorn's
// docs deploy it: nginx on TCP, proxy_pass to nicorn-py on a unix socket,
// X-Forwarded-For/-Proto set. On a unix socket Gunicorn believes forwarded
// headers whatever --forwarded-allow-ips says ("It does not affect UNIX socket
// connections"), so the server is started distrusting 127.0.0.1 to show it.

import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { exchange, get, readArrivals } from '../helpers/http.js';
import { FIXTURES, eventually, sleep, startServer, type Server } from '../helpers/server.js';

const NGINX = '/usr/sbin/nginx';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-nginx-'));
// Unix socket paths are short (108 bytes): straight under /tmp.
const SOCK = `/tmp/nicorn-nginx-${process.pid}-${crypto.randomBytes(4).toString('hex')}.sock`;

interface Nginx {
  proc: ChildProcess;
  port: number;
  url: string;
  log(): string;
  stop(): Promise<void>;
}

/** A free 127.0.0.1 port: bind port 0, read it, let it go. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function nginxConf(port: number): string {
  const upstream = `http://unix:${SOCK}`;
  // As Gunicorn's deploy docs: the client's address appended, the scheme nginx was reached by.
  const forwarded = `
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_redirect off;`;
  return `
# root's default worker user (nobody) could not reach the test's 0700 temp dir.
${process.getuid?.() === 0 ? 'user root root;' : ''}
worker_processes 1;
pid ${tmp}/nginx.pid;
error_log ${tmp}/error.log info;
events { worker_connections 64; }
http {
  access_log ${tmp}/access.log;
  client_body_temp_path ${tmp}/client_body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  client_max_body_size 64m;
  server {
    listen 127.0.0.1:${port};
    # nginx's defaults: HTTP/1.0 to the upstream, responses buffered.
    location / {
      ${forwarded}
      proxy_pass ${upstream};
    }
    # Streaming as Gunicorn's docs advise: HTTP/1.1 upstream, no buffering either way.
    location /h11/ {
      ${forwarded}
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_pass ${upstream}:/;
    }
    # TLS terminated in front of nginx: it says https.
    location /as-https/ {
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_pass ${upstream}:/;
    }
    # An app mounted under a prefix: SCRIPT_NAME, a forwarder header.
    location /app/ {
      ${forwarded}
      proxy_set_header SCRIPT_NAME /app;
      proxy_pass ${upstream};
    }
  }
}
`;
}

/** Children of `pid` (nginx's workers), from /proc. */
function childPids(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

const nginxPids = new Set<number>();
process.on('exit', () => {
  for (const pid of nginxPids) kill(pid, 'SIGKILL');
});

async function startNginx(): Promise<Nginx> {
  const port = await freePort();
  const conf = path.join(tmp, 'nginx.conf');
  fs.writeFileSync(conf, nginxConf(port));
  const proc = spawn(NGINX, ['-p', tmp, '-c', conf, '-e', path.join(tmp, 'error.log'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  nginxPids.add(proc.pid!);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const log = () => out + (fs.existsSync(path.join(tmp, 'error.log')) ? fs.readFileSync(path.join(tmp, 'error.log'), 'utf8') : '');
  const up = await eventually(
    () =>
      proc.exitCode === null &&
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
    10_000,
  );
  if (!up) {
    kill(proc.pid!, 'SIGKILL');
    throw new Error(`nginx did not start (exit ${proc.exitCode}):\n${log()}`);
  }
  return {
    proc,
    port,
    url: `http://127.0.0.1:${port}`,
    log,
    async stop() {
      const workers = childPids(proc.pid!);
      // QUIT: graceful, the master waits for its workers.
      kill(proc.pid!, 'SIGQUIT');
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) kill(proc.pid!, 'SIGKILL');
      for (const pid of workers) kill(pid, 'SIGKILL');
      nginxPids.delete(proc.pid!);
    },
  };
}

interface Ctx {
  srv?: Server;
  nginx?: Nginx;
}

const behind = suite<Ctx>('behind nginx on a unix socket');

behind.after(async (ctx) => {
  await ctx.nginx?.stop();
  await ctx.srv?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(SOCK, { force: true });
});

type Environ = Record<string, unknown>;

behind('nginx-light is installed (CI installs it in .ci/run), nicorn-py and nginx start', async (ctx) => {
  assert.ok(
    fs.existsSync(NGINX),
    `${NGINX} is missing: install Debian's nginx-light (apt-get install -y nginx-light); .ci/run does it on CI`,
  );
  // startServer's own -b 127.0.0.1:0 stays too: the same headers over TCP, for contrast.
  ctx.srv = await startServer(['-b', `unix:${SOCK}`, '--forwarded-allow-ips', '10.0.0.1', '--chdir', path.join(FIXTURES, 'wsgi'), 'conformance']);
  assert.match(ctx.srv.log(), new RegExp(`Listening at: .*unix:${SOCK}`));
  ctx.nginx = await startNginx();
});

const need = (ctx: Ctx): { srv: Server; nginx: Nginx } => {
  if (!ctx.srv || !ctx.nginx) throw new Error('nicorn-py and nginx did not start (see the first test)');
  return { srv: ctx.srv, nginx: ctx.nginx };
};

behind('GET through nginx', async (ctx) => {
  const { nginx } = need(ctx);
  const res = await fetch(`${nginx.url}/hello`);
  assert.is(res.status, 200);
  assert.is(await res.text(), 'Hello, World!\n');
  assert.match(res.headers.get('server') ?? '', /^nginx/, 'answered by nginx');
});

behind('X-Forwarded-For and X-Forwarded-Proto from nginx reach the app; the scheme is believed on the unix socket', async (ctx) => {
  const { nginx } = need(ctx);
  const res = await fetch(`${nginx.url}/environ/x?y=1`, { headers: { 'X-Forwarded-For': '198.51.100.1' } });
  assert.is(res.status, 200);
  const env = (await res.json()) as Environ;
  assert.is(env.HTTP_X_FORWARDED_FOR, '198.51.100.1, 127.0.0.1', 'nginx appended the client address');
  assert.is(env.HTTP_X_FORWARDED_PROTO, 'http');
  assert.is(env['wsgi.url_scheme'], 'http');
  assert.is(env.PATH_INFO, '/environ/x');
  assert.is(env.QUERY_STRING, 'y=1');
  assert.is(env.HTTP_HOST, `127.0.0.1:${nginx.port}`);
  // On a unix socket SERVER_NAME/PORT come from Host, as in Gunicorn.
  assert.is(env.SERVER_NAME, '127.0.0.1');
  assert.is(env.SERVER_PORT, String(nginx.port));
  assert.is(env.SERVER_PROTOCOL, 'HTTP/1.0', "nginx's default proxy_http_version");

  const tls = (await (await fetch(`${nginx.url}/as-https/environ`)).json()) as Environ;
  assert.is(tls.HTTP_X_FORWARDED_PROTO, 'https');
  assert.is(tls['wsgi.url_scheme'], 'https', 'unix socket peers are trusted regardless of --forwarded-allow-ips');
  assert.is(tls.SERVER_PORT, String(nginx.port), 'from Host, which has the port');
});

behind('the same header over TCP from 127.0.0.1, not in --forwarded-allow-ips, is not believed', async (ctx) => {
  const { srv } = need(ctx);
  const res = await exchange(srv.port, get('/environ', 'X-Forwarded-Proto: https\r\n'));
  const env = JSON.parse(res.body.toString()) as Environ;
  assert.is(env['wsgi.url_scheme'], 'http');
});

behind('SCRIPT_NAME set by nginx mounts the app under a prefix', async (ctx) => {
  const { nginx } = need(ctx);
  const res = await fetch(`${nginx.url}/app/environ/page`);
  assert.is(res.status, 200);
  const env = (await res.json()) as Environ;
  assert.is(env.SCRIPT_NAME, '/app');
  assert.is(env.PATH_INFO, '/environ/page');
});

behind('a client cannot send SCRIPT_NAME itself: nginx drops headers with "_" (underscores_in_headers off)', async (ctx) => {
  const { nginx } = need(ctx);
  const res = await exchange(nginx.port, get('/environ/page', 'SCRIPT_NAME: /environ\r\nConnection: close\r\n'));
  const env = JSON.parse(res.body.toString()) as Environ;
  assert.is(env.SCRIPT_NAME, '');
  assert.is(env.PATH_INFO, '/environ/page');
});

behind('POST with a body through nginx (buffered to a temp file by nginx, sent with Content-Length)', async (ctx) => {
  const { nginx } = need(ctx);
  const data = crypto.randomBytes(3 * 1024 * 1024 + 7);
  const res = await fetch(`${nginx.url}/upload?mode=read`, { method: 'POST', body: data });
  assert.is(res.status, 200);
  const out = (await res.json()) as Environ;
  assert.is(out.length, data.length);
  assert.is(out.sha256, crypto.createHash('sha256').update(data).digest('hex'));
  assert.is(out.content_length, String(data.length));
});

behind('a chunked upload streamed through nginx unbuffered (HTTP/1.1 upstream) arrives whole', async (ctx) => {
  const { nginx } = need(ctx);
  const parts = Array.from({ length: 8 }, () => crypto.randomBytes(100_000));
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = parts.shift();
      if (next) {
        controller.enqueue(next);
        await sleep(20);
      } else controller.close();
    },
  });
  const expected = crypto.createHash('sha256');
  for (const p of parts) expected.update(p);
  const digest = expected.digest('hex');
  const res = await fetch(`${nginx.url}/h11/upload?mode=read`, { method: 'POST', body, duplex: 'half' } as RequestInit);
  assert.is(res.status, 200);
  const out = (await res.json()) as Environ;
  assert.is(out.length, 800_000);
  assert.is(out.sha256, digest);
  assert.is(out.transfer_encoding, 'chunked', 'nginx passed the chunked framing on');
});

behind('a streamed response through nginx (HTTP/1.0 upstream: close-delimited) arrives whole', async (ctx) => {
  const { nginx } = need(ctx);
  const res = await fetch(`${nginx.url}/stream?n=3&delay=0.2`);
  assert.is(res.status, 200);
  assert.is(await res.text(), 'chunk 0\nchunk 1\nchunk 2\n');
});

behind('a streamed response through nginx without buffering (HTTP/1.1 upstream) arrives chunk by chunk', async (ctx) => {
  const { nginx } = need(ctx);
  const t0 = Date.now();
  const res = await fetch(`${nginx.url}/h11/stream?n=3&delay=0.6`);
  assert.is(res.status, 200);
  const { text, arrivals } = await readArrivals(res, t0);
  assert.is(text, 'chunk 0\nchunk 1\nchunk 2\n');
  assert.ok(arrivals.length >= 3, `chunks arrived separately: ${arrivals}`);
  assert.ok(arrivals.at(-1)! - arrivals[0]! >= 900, `the first chunk came before the generator finished: ${arrivals}`);
});

behind('keep-alive to nginx: several requests on one client connection', async (ctx) => {
  const { nginx } = need(ctx);
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${nginx.url}/hello`);
    assert.is(res.status, 200);
    assert.is(await res.text(), 'Hello, World!\n');
  }
  assert.not.match(nginx.log(), /\[(error|crit|alert|emerg)\]/, `nginx logged errors:\n${nginx.log()}`);
});

behind.run();
