// --protocol uwsgi behind Debian's nginx (nginx-light, as test/e2e/nginx.test.ts
// starts it): nginx's uwsgi_pass with its own uwsgi_params, to nicorn-py on a
// unix socket (always allowed) and on TCP, where --uwsgi-allow-from admits
// 127.0.0.2 only: nginx binds 127.0.0.2 for one location (uwsgi_bind) and
// stays on 127.0.0.1, a refused peer, for another. Malformed packets are sent
// by hand from 127.0.0.2. The answers are Gunicorn 26.2.2's (gunicorn/uwsgi/).

import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseResponse, readArrivals } from '../helpers/http.js';
import { FIXTURES, eventually, runCli, sleep, startServer, type Server } from '../helpers/server.js';

const NGINX = '/usr/sbin/nginx';
const UWSGI_PARAMS = '/etc/nginx/uwsgi_params';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-uwsgi-'));
const SOCK = `/tmp/nicorn-uwsgi-${process.pid}-${crypto.randomBytes(4).toString('hex')}.sock`;
const ALLOWED = '127.0.0.2';

interface Nginx {
  proc: ChildProcess;
  port: number;
  url: string;
  log(): string;
  stop(): Promise<void>;
}

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

function nginxConf(port: number, tcpPort: number): string {
  return `
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
    # As Gunicorn's docs deploy it: uwsgi_pass and Debian's uwsgi_params.
    location / {
      include ${UWSGI_PARAMS};
      uwsgi_pass unix:${SOCK};
    }
    # TLS terminated in front of nginx: it says HTTPS on.
    location /as-https/ {
      include ${UWSGI_PARAMS};
      uwsgi_param HTTPS on;
      uwsgi_param PATH_INFO /environ/https;
      uwsgi_pass unix:${SOCK};
    }
    # Over TCP from the allowed address.
    location /tcp/ {
      include ${UWSGI_PARAMS};
      uwsgi_param PATH_INFO /environ/tcp;
      uwsgi_bind ${ALLOWED};
      uwsgi_pass 127.0.0.1:${tcpPort};
    }
    # Over TCP from 127.0.0.1, which --uwsgi-allow-from does not list.
    location /refused/ {
      include ${UWSGI_PARAMS};
      uwsgi_pass 127.0.0.1:${tcpPort};
    }
  }
}
`;
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function childPids(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const nginxPids = new Set<number>();
process.on('exit', () => {
  for (const pid of nginxPids) kill(pid, 'SIGKILL');
});

async function startNginx(tcpPort: number): Promise<Nginx> {
  const port = await freePort();
  const conf = path.join(tmp, 'nginx.conf');
  fs.writeFileSync(conf, nginxConf(port, tcpPort));
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
      kill(proc.pid!, 'SIGQUIT');
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) kill(proc.pid!, 'SIGKILL');
      for (const pid of workers) kill(pid, 'SIGKILL');
      nginxPids.delete(proc.pid!);
    },
  };
}

/** A uwsgi packet: modifier1, the vars block's size (LE16), modifier2, the vars, then `body`. */
function packet(vars: [string, string][], body: Buffer = Buffer.alloc(0), modifier1 = 0, modifier2 = 0): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of vars) {
    const key = Buffer.from(k, 'latin1');
    const val = Buffer.from(v, 'latin1');
    const ks = Buffer.alloc(2);
    ks.writeUInt16LE(key.length);
    const vs = Buffer.alloc(2);
    vs.writeUInt16LE(val.length);
    parts.push(ks, key, vs, val);
  }
  const block = Buffer.concat(parts);
  const head = Buffer.from([modifier1, block.length & 0xff, block.length >> 8, modifier2]);
  return Buffer.concat([head, block, body]);
}

/** Sends `data` from 127.0.0.2 (half-closing after it when `end`), returns what came back until the server closed. */
function sendRaw(port: number, data: Buffer, end = false, ms = 10_000): Promise<{ bytes: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: ALLOWED });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed: false });
    }, ms);
    sock.on('data', (d) => chunks.push(d));
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.once('close', () => {
      clearTimeout(timer);
      resolve({ bytes: Buffer.concat(chunks), closed: true });
    });
    sock.once('connect', () => (end ? sock.end(data) : sock.write(data)));
  });
}

interface Ctx {
  srv?: Server;
  nginx?: Nginx;
}

const uwsgi = suite<Ctx>('--protocol uwsgi behind nginx (uwsgi_pass)');

uwsgi.after(async (ctx) => {
  await ctx.nginx?.stop();
  await ctx.srv?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(SOCK, { force: true });
});

type Environ = Record<string, unknown>;

const need = (ctx: Ctx): { srv: Server; nginx: Nginx } => {
  if (!ctx.srv || !ctx.nginx) throw new Error('nicorn-py and nginx did not start (see the first test)');
  return { srv: ctx.srv, nginx: ctx.nginx };
};

uwsgi('nicorn-py --protocol uwsgi and nginx start', async (ctx) => {
  assert.ok(fs.existsSync(NGINX), `${NGINX} is missing: install Debian's nginx-light (.ci/run does it on CI)`);
  assert.ok(fs.existsSync(UWSGI_PARAMS), `${UWSGI_PARAMS} is missing (nginx-common ships it)`);
  // -w 2: the TCP port is shared, as the unix socket.
  ctx.srv = await startServer([
    '-b', `unix:${SOCK}`, '--protocol', 'uwsgi', '--uwsgi-allow-from', `10.0.0.0/8,${ALLOWED}`, '-w', '2',
    '--chdir', path.join(FIXTURES, 'wsgi'), 'conformance',
  ]);
  ctx.nginx = await startNginx(ctx.srv.port);
});

uwsgi('GET through uwsgi_pass: the app answers, nginx relays it', async (ctx) => {
  const { nginx } = need(ctx);
  const res = await fetch(`${nginx.url}/hello`);
  assert.is(res.status, 200);
  assert.is(await res.text(), 'Hello, World!\n');
  // nginx's uwsgi module passes the upstream's Server on (proxy_pass would hide it).
  assert.is(res.headers.get('server'), 'nicorn-py');
});

uwsgi("the environ is Gunicorn's from nginx's uwsgi_params vars", async (ctx) => {
  const { nginx } = need(ctx);
  const res = await fetch(`${nginx.url}/environ/a%20b?x=1&y=%20`, { headers: { 'X-Custom-Thing': 'v1', Cookie: 'c=1' } });
  assert.is(res.status, 200);
  const env = (await res.json()) as Environ;
  assert.is(env.REQUEST_METHOD, 'GET');
  // PATH_INFO is nginx's $document_uri (decoded), RAW_URI Gunicorn's path + '?' + query.
  assert.is(env.PATH_INFO, '/environ/a b');
  assert.is(env.QUERY_STRING, 'x=1&y=%20');
  assert.is(env.RAW_URI, '/environ/a b?x=1&y=%20');
  assert.is(env.SCRIPT_NAME, '');
  assert.is(env.SERVER_PROTOCOL, 'HTTP/1.1', 'UWSGIRequest.version is (1, 1)');
  assert.is(env.HTTP_X_CUSTOM_THING, 'v1');
  assert.is(env.HTTP_COOKIE, 'c=1');
  // Debian's uwsgi_params sends HTTP_HOST as $host: without the port.
  assert.is(env.HTTP_HOST, '127.0.0.1');
  assert.is(env['wsgi.url_scheme'], 'http');
  // The peer is nginx on a unix socket: no address; SERVER_* from Host (no port: the scheme's), as Gunicorn on a unix socket.
  assert.is(env.REMOTE_ADDR, '');
  assert.is(env.SERVER_NAME, '127.0.0.1');
  assert.is(env.SERVER_PORT, '80');
  // Vars that are not headers, method, path or query do not reach environ under Gunicorn 26.2.2.
  for (const key of ['REQUEST_URI', 'DOCUMENT_ROOT', 'REQUEST_SCHEME', 'SERVER_ADDR']) {
    assert.ok(!(key in env), `${key} is not in environ`);
  }
  // uwsgi_params sends CONTENT_LENGTH and CONTENT_TYPE empty on a GET; Gunicorn keeps them as sent.
  assert.is(env.CONTENT_LENGTH, '');
  assert.is(env.CONTENT_TYPE, '');
});

uwsgi('HTTPS on in the vars makes wsgi.url_scheme https', async (ctx) => {
  const { nginx } = need(ctx);
  const env = (await (await fetch(`${nginx.url}/as-https/environ`)).json()) as Environ;
  assert.is(env['wsgi.url_scheme'], 'https');
});

uwsgi('a POST body (3 MiB, nginx buffers it and sends CONTENT_LENGTH) reaches wsgi.input whole', async (ctx) => {
  const { nginx } = need(ctx);
  const data = crypto.randomBytes(3 * 1024 * 1024 + 7);
  const res = await fetch(`${nginx.url}/upload?mode=read`, { method: 'POST', body: data, headers: { 'Content-Type': 'application/x-thing' } });
  assert.is(res.status, 200);
  const out = (await res.json()) as Environ;
  assert.is(out.length, data.length);
  assert.is(out.sha256, crypto.createHash('sha256').update(data).digest('hex'));
  assert.is(out.content_length, String(data.length));
});

uwsgi('a streamed response without Content-Length arrives whole, with no chunk markers (ends with the connection)', async (ctx) => {
  const { nginx } = need(ctx);
  const res = await fetch(`${nginx.url}/stream?n=3&delay=0.1`);
  assert.is(res.status, 200);
  const { text } = await readArrivals(res, Date.now());
  assert.is(text, 'chunk 0\nchunk 1\nchunk 2\n');
});

uwsgi('keep-alive on the client side: several requests on one client connection to nginx', async (ctx) => {
  const { nginx } = need(ctx);
  const sock = net.connect(nginx.port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => (buf = Buffer.concat([buf, d])));
  try {
    for (let i = 0; i < 4; i++) {
      buf = Buffer.alloc(0);
      sock.write(`GET /environ/k${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.ok(
        await eventually(() => {
          const text = buf.toString('latin1');
          const m = /Content-Length: (\d+)\r\n/i.exec(text);
          const at = text.indexOf('\r\n\r\n');
          return !!m && at >= 0 && buf.length - at - 4 >= Number(m[1]);
        }, 10_000),
        `response ${i} arrived: ${buf.toString('latin1').slice(0, 300)}`,
      );
      const res = parseResponse(buf);
      assert.is(res.status, 200);
      assert.is((JSON.parse(res.body.toString()) as Environ).PATH_INFO, `/environ/k${i}`);
      assert.ok(!sock.destroyed, 'the client connection is still open');
    }
  } finally {
    sock.destroy();
  }
  assert.not.match(nginx.log(), /\[(error|crit|alert|emerg)\]/, `nginx logged errors:\n${nginx.log()}`);
});

uwsgi('over TCP from an allowed address (uwsgi_bind 127.0.0.2): served, REMOTE_ADDR is the peer', async (ctx) => {
  const { srv, nginx } = need(ctx);
  const res = await fetch(`${nginx.url}/tcp/`);
  assert.is(res.status, 200);
  const env = (await res.json()) as Environ;
  assert.is(env.PATH_INFO, '/environ/tcp');
  assert.is(env.REMOTE_ADDR, ALLOWED);
  assert.is(env.SERVER_NAME, '127.0.0.1');
  assert.is(env.SERVER_PORT, String(srv.port));
});

uwsgi("a peer not in --uwsgi-allow-from: Gunicorn's 500 page, the error logged, the app never called", async (ctx) => {
  const { srv, nginx } = need(ctx);
  const res = await fetch(`${nginx.url}/refused/hello`);
  assert.is(res.status, 500, 'nginx relays the 500 nicorn-py answered');
  const text = await res.text();
  assert.match(text, /<h1><p>Internal Server Error<\/p><\/h1>/);
  assert.not.match(text, /Hello/);
  assert.ok(
    await eventually(() => /Error handling request \(no URI read\)\ngunicorn\.uwsgi\.errors\.ForbiddenUWSGIRequest: uWSGI request from '127\.0\.0\.1' not allowed/.test(srv.log())),
    srv.log(),
  );
});

uwsgi('malformed packets: 500 and the exception in the log, as Gunicorn 26.2.2', async (ctx) => {
  const { srv } = need(ctx);
  const cases: { name: string; data: Buffer; end?: boolean; logged: RegExp }[] = [
    {
      name: 'modifier1 other than 0',
      data: packet([['REQUEST_METHOD', 'GET'], ['PATH_INFO', '/hello']], Buffer.alloc(0), 5),
      logged: /UnsupportedModifier: Unsupported uWSGI modifier1: 5/,
    },
    {
      name: 'a key longer than the vars block',
      data: Buffer.from([0, 6, 0, 0, 50, 0, 0x41, 0x42, 0x43, 0x44]),
      logged: /InvalidUWSGIHeader: Invalid uWSGI header: truncated key/,
    },
    {
      name: 'a vars block cut short, then the peer closes',
      data: Buffer.from([0, 100, 0, 0, 4, 0, 0x41]),
      end: true,
      logged: /InvalidUWSGIHeader: Invalid uWSGI header: incomplete vars block/,
    },
    {
      name: 'a header cut short, then the peer closes',
      data: Buffer.from([0, 1]),
      end: true,
      logged: /InvalidUWSGIHeader: Invalid uWSGI header: incomplete header/,
    },
  ];
  for (const c of cases) {
    const { bytes, closed } = await sendRaw(srv.port, c.data, c.end);
    assert.ok(closed, `${c.name}: the connection is closed`);
    const res = parseResponse(bytes);
    assert.is(res.status, 500, `${c.name}: ${bytes.toString('latin1').slice(0, 200)}`);
    assert.match(bytes.toString('latin1'), /^HTTP\/1\.1 500 Internal Server Error\r\nConnection: close\r\n/);
    assert.ok(await eventually(() => c.logged.test(srv.log())), `${c.name}: logged\n${srv.log()}`);
  }
});

uwsgi('two packets on one connection: each answered; HTTP_CONNECTION close ends it; an unread body is skipped', async (ctx) => {
  const { srv } = need(ctx);
  const env = (p: string, extra: [string, string][] = []): [string, string][] => [
    ['REQUEST_METHOD', 'POST'], ['PATH_INFO', p], ['QUERY_STRING', ''], ['HTTP_HOST', 'h'], ...extra,
  ];
  // The first has a body the app (/environ) never reads: it must not be taken for the second packet.
  const first = packet(env('/environ/one', [['CONTENT_LENGTH', '5']]), Buffer.from('xxxxx'));
  const second = packet(env('/environ/two', [['HTTP_CONNECTION', 'close']]));
  const { bytes, closed } = await sendRaw(srv.port, Buffer.concat([first, second]));
  assert.ok(closed, 'closed after the packet that said Connection: close');
  const text = bytes.toString('latin1');
  const heads = text.match(/HTTP\/1\.1 200 OK/g) ?? [];
  assert.is(heads.length, 2, text.slice(0, 600));
  assert.match(text, /"PATH_INFO": "\/environ\/one"/);
  assert.match(text, /"PATH_INFO": "\/environ\/two"/);
  assert.match(text, /"CONTENT_LENGTH": "5"/);
  assert.not.match(text, /Transfer-Encoding/i);
});

uwsgi('--protocol takes http or uwsgi only; uwsgi with --certfile or --proxy-protocol is refused by name', async () => {
  const bad = await runCli(['--protocol', 'h2', '--check-config', 'x:app']);
  assert.is.not(bad.code, 0);
  assert.match(bad.stderr + bad.stdout, /protocol/);
  const tls = await runCli(['--protocol', 'uwsgi', '--certfile', '/nonexistent.pem', '--check-config', 'x:app']);
  assert.is.not(tls.code, 0);
  assert.match(tls.stderr + tls.stdout, /protocol uwsgi with certfile/);
  const proxy = await runCli(['--protocol', 'uwsgi', '--proxy-protocol', 'v1', '--check-config', 'x:app']);
  assert.is.not(proxy.code, 0);
  assert.match(proxy.stderr + proxy.stdout, /protocol uwsgi with proxy_protocol/);
});

uwsgi.run();
