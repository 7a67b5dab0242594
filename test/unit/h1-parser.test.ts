// The front door's own HTTP/1 parser (h1-parser.ts) against Gunicorn 26's
// request corpus (test/e2e/corpus/gunicorn-26.json): every case, with the
// settings its test sets where those are the parser's (and the rules' after
// it, as the front door runs them), fed in one piece and byte by byte; then
// RFC 9112 edge cases the corpus does not hold.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { registry } from '../../src/config/registry.js';
import { RequestError } from '../../src/worker/front-door/errors.js';
import { H1Parser, NoMoreData, type H1Head, type H1ParserOptions } from '../../src/worker/front-door/h1-parser.js';
import { RequestRules, type RuleSettings } from '../../src/worker/front-door/rules.js';

interface Expected {
  method: string;
  raw_uri: string;
  protocol: string;
  headers: Record<string, string>;
  body: string;
}
interface Case {
  name: string;
  bytes: string;
  settings: string[];
  requests?: Expected[];
  error?: string;
}

const corpus = JSON.parse(fs.readFileSync(path.resolve('test/e2e/corpus/gunicorn-26.json'), 'utf8')) as { cases: Case[] };

type Options = H1ParserOptions & RuleSettings;
const DEFAULTS: Options = {
  limit_request_line: registry.limit_request_line.default(),
  limit_request_fields: registry.limit_request_fields.default(),
  limit_request_field_size: registry.limit_request_field_size.default(),
  permit_obsolete_folding: false,
  strip_header_spaces: false,
  permit_unconventional_http_method: false,
  permit_unconventional_http_version: false,
  casefold_http_method: false,
  header_map: registry.header_map.default(),
  secure_scheme_headers: registry.secure_scheme_headers.default(),
  forwarded_allow_ips: ['127.0.0.1', '::1'],
  forwarder_headers: registry.forwarder_headers.default(),
};

/**
 * The values Gunicorn's tests/requests/*.py set for the cases whose settings
 * are the parser's (the corpus file names the settings, not their values).
 */
const CASE_SETTINGS: Record<string, Partial<Options>> = {
  'valid/024': { limit_request_line: 8200, limit_request_field_size: 8210 },
  'valid/026': { limit_request_line: 0, limit_request_field_size: 8210 },
  'valid/028': { strip_header_spaces: true },
  'valid/031compat': { permit_unconventional_http_method: true, casefold_http_method: true },
  'valid/031compat2': { permit_unconventional_http_method: true },
  'valid/040_compat': { header_map: 'dangerous' },
  'valid/compat_obs_fold': { permit_obsolete_folding: true },
  'valid/compat_obs_fold_huge': { permit_obsolete_folding: true },
  'invalid/010': { limit_request_field_size: 10 },
  'invalid/011': { limit_request_fields: 2 },
  'invalid/012': { limit_request_field_size: 98 },
  'invalid/013': { limit_request_field_size: 14, permit_obsolete_folding: true },
  'invalid/040': { header_map: 'refuse' },
  'invalid/chunked_07': { header_map: 'refuse' },
  'invalid/limit_header_default_01': { limit_request_field_size: 0 },
};

/** Gunicorn's exception class for one of our refusals (errors.ts keeps its texts). */
function exceptionName(e: RequestError): string {
  const m = e.message;
  if (e.status === 431) return 'LimitRequestHeaders';
  const byPrefix: [string, string][] = [
    ['Invalid HTTP request line', 'InvalidRequestLine'],
    ['Invalid HTTP method', 'InvalidRequestMethod'],
    ['Invalid HTTP Version', 'InvalidHTTPVersion'],
    ['Invalid HTTP Header:', 'InvalidHeader'],
    ['Invalid HTTP header name', 'InvalidHeaderName'],
    ['Obsolete line folding', 'ObsoleteFolding'],
    ['Request Line is too large', 'LimitRequestLine'],
    ['Unsupported transfer coding', 'UnsupportedTransferCoding'],
    ['Invalid chunk size', 'InvalidChunkSize'],
    ['Invalid chunk terminator', 'ChunkMissingTerminator'],
    ['Invalid chunk extension', 'InvalidChunkExtension'],
    ['Contradictory scheme headers', 'InvalidSchemeHeaders'],
  ];
  return byPrefix.find(([p]) => m.startsWith(p))?.[1] ?? `? ${m}`;
}

interface Seen {
  method: string;
  raw_uri: string;
  protocol: string;
  headers: Record<string, string>;
  body: string;
}

/** What the parser (and the rules after it, as the front door runs them) make of `bytes`, fed `step` bytes at a time. */
function run(bytes: Buffer, opts: Options, step = bytes.length): { requests: Seen[]; error: string | null; heads: H1Head[] } {
  const rules = new RequestRules(opts);
  const requests: Seen[] = [];
  const heads: H1Head[] = [];
  let current: { seen: Seen; body: Buffer[] } | null = null;
  const parser = new H1Parser(opts, {
    onHead(head) {
      const checked = rules.check({ method: head.method, url: head.target, httpVersion: head.httpVersion, rawHeaders: head.rawHeaders }, '127.0.0.1', 'http');
      const headers: Record<string, string> = {};
      for (let i = 0; i < checked.headers.length; i += 2) {
        let key = checked.headers[i]!.toUpperCase().replace(/-/g, '_');
        if (key !== 'CONTENT_TYPE' && key !== 'CONTENT_LENGTH') key = `HTTP_${key}`;
        const value = checked.headers[i + 1]!;
        headers[key] = key in headers ? `${headers[key]},${value}` : value;
      }
      heads.push(head);
      current = { seen: { method: head.method, raw_uri: head.target, protocol: `HTTP/${head.httpVersion}`, headers, body: '' }, body: [] };
    },
    onBody(data) {
      current!.body.push(Buffer.from(data));
    },
    onComplete() {
      current!.seen.body = Buffer.concat(current!.body).toString('base64');
      requests.push(current!.seen);
      current = null;
    },
  });
  try {
    for (let i = 0; i < bytes.length; i += step) parser.execute(bytes.subarray(i, i + step));
    // Then the client's FIN.
    parser.end();
  } catch (e) {
    if (e instanceof NoMoreData) return { requests, error: 'NoMoreData', heads };
    if (e instanceof RequestError) return { requests, error: exceptionName(e), heads };
    throw e;
  }
  return { requests, error: null, heads };
}

for (const c of corpus.cases) {
  const known = c.settings.length === 0 || c.name in CASE_SETTINGS;
  // PROXY protocol and forwarded_allow_ips cases are other modules' (proxy-protocol.ts; rules.ts).
  if (!known) continue;
  test(`corpus ${c.name}${c.error ? ` (${c.error})` : ''}`, () => {
    const opts = { ...DEFAULTS, ...CASE_SETTINGS[c.name] };
    const bytes = Buffer.from(c.bytes, 'base64');
    for (const step of [bytes.length, 1]) {
      const got = run(bytes, opts, step);
      if (c.error) {
        // Gunicorn stops at the first bad request; those before it were served.
        assert.is(got.error, c.error, `step ${step}`);
      } else {
        assert.is(got.error, null, `step ${step}`);
        assert.equal(got.requests, c.requests!.map(({ method, raw_uri, protocol, headers, body }) => ({ method, raw_uri, protocol, headers, body })), `step ${step}`);
      }
    }
  });
}

/**
 * Gunicorn 26.2.2's own parser on requests built from RFC 9112's and its rules'
 * edges (scripts/h1-parser-gunicorn.py wrote what it made of each): ours, with
 * the front door's rules after it, must make the same of every one.
 */
const reference = JSON.parse(fs.readFileSync(path.resolve('test/unit/corpus/h1-parser-gunicorn.json'), 'utf8')) as {
  gunicorn: string;
  cases: string[];
  groups: { settings: Partial<Options>; results: { requests: [string, string, string, [string, string][], string][]; error: string | null }[] }[];
};
for (const group of reference.groups) {
  test(`as Gunicorn ${reference.gunicorn}'s parser, ${reference.cases.length} requests, settings ${JSON.stringify(group.settings)}`, () => {
    const opts = { ...DEFAULTS, ...group.settings };
    const differ: string[] = [];
    reference.cases.forEach((bytes, i) => {
      const got = run(Buffer.from(bytes, 'latin1'), opts);
      const ours = {
        requests: got.requests.map((r, k) => {
          const head = got.heads[k]!;
          const checked = new RequestRules(opts).check({ method: head.method, url: head.target, httpVersion: head.httpVersion, rawHeaders: head.rawHeaders }, '127.0.0.1', 'http');
          const fields: [string, string][] = [];
          for (let f = 0; f < checked.headers.length; f += 2) fields.push([checked.headers[f]!.toUpperCase(), checked.headers[f + 1]!]);
          return [r.method, r.raw_uri, head.httpVersion, fields, Buffer.from(r.body, 'base64').toString('latin1')];
        }),
        error: got.error,
      };
      const theirs = group.results[i]!;
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) differ.push(`${JSON.stringify(bytes)}: ours ${JSON.stringify(ours)}, Gunicorn ${JSON.stringify(theirs)}`);
    });
    assert.equal(differ, []);
  });
}

const one = (s: string, over: Partial<Options> = {}) => run(Buffer.from(s, 'latin1'), { ...DEFAULTS, ...over });
const chunked = (chunks: string) => `POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`;

test('RFC 9112 7.1.1: BWS before ";" in a chunk line, anything after it but a bare CR', () => {
  for (const line of ['5;a=b', '5 ;a=b', '5\t; a = "b; c"', '5; some; parameters=stuff', '5;']) {
    const got = one(chunked(`${line}\r\nhello\r\n0\r\n\r\n`));
    assert.is(got.error, null, line);
    assert.is(Buffer.from(got.requests[0]!.body, 'base64').toString(), 'hello');
  }
  // BWS only before an extension; a bare CR in one is refused.
  assert.is(one(chunked('5 \r\nhello\r\n0\r\n\r\n')).error, 'InvalidChunkSize');
  assert.is(one(chunked('5;a\rb\r\nhello\r\n0\r\n\r\n')).error, 'InvalidChunkExtension');
  assert.is(one(chunked(';a\r\nhello\r\n0\r\n\r\n')).error, 'InvalidChunkSize');
  assert.is(one(chunked('5\r\nhelloXX0\r\n\r\n')).error, 'ChunkMissingTerminator');
});

test('chunk sizes are hex of any case; trailers are read and forbidden ones refused', () => {
  const got = one(chunked('A\r\n0123456789\r\na\r\n0123456789\r\n0\r\nX-Sum: 1\r\nVary: *\r\n\r\n'));
  assert.is(got.error, null);
  assert.is(Buffer.from(got.requests[0]!.body, 'base64').length, 20);
  assert.is(one(chunked('0\r\nContent-Length: 5\r\n\r\n')).error, 'InvalidHeaderName');
});

test('Transfer-Encoding: identity beside Content-Length is framed by Content-Length; identity alone means no body', () => {
  const got = one('POST /p HTTP/1.1\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nWorldGET /next HTTP/1.1\r\n\r\n');
  assert.is(got.error, null);
  assert.equal(got.requests.map((r) => [r.method, Buffer.from(r.body, 'base64').toString()]), [['POST', 'World'], ['GET', '']]);
  const bare = one('POST /p HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\nGET /next HTTP/1.1\r\n\r\n');
  assert.equal(bare.requests.map((r) => r.method), ['POST', 'GET']);
  // chunked and Content-Length together stay refused (RFC 9112 6.3).
  assert.is(one('POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n').error, 'InvalidHeader');
  assert.is(one('POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n').error, 'InvalidHeader');
  assert.is(one('POST /p HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n').error, 'InvalidHeader');
  assert.is(one('POST /p HTTP/1.1\r\nTransfer-Encoding: br\r\n\r\n').error, 'UnsupportedTransferCoding');
});

test('methods: any token of 3 to 20 characters without lower case or "#"; permit_unconventional_http_method takes any token', () => {
  for (const m of ['-BLARGH', 'PURGE', 'M-SEARCH', 'ABC', 'A'.repeat(20)]) assert.is(one(`${m} / HTTP/1.1\r\n\r\n`).error, null, m);
  for (const m of ['GE', 'A'.repeat(21), 'get', 'G#T', 'GE(T']) assert.is(one(`${m} / HTTP/1.1\r\n\r\n`).error, 'InvalidRequestMethod', m);
  const permit = { permit_unconventional_http_method: true };
  for (const m of ['GE', 'get', 'G#T', 'A'.repeat(40)]) assert.is(one(`${m} / HTTP/1.1\r\n\r\n`, permit).error, null, m);
  assert.is(one('GE(T / HTTP/1.1\r\n\r\n', permit).error, 'InvalidRequestMethod');
  assert.is(one('get / HTTP/1.1\r\n\r\n', { ...permit, casefold_http_method: true }).heads[0]!.method, 'GET');
});

test('versions: HTTP/1.x; others with permit_unconventional_http_version; never more than one digit each', () => {
  assert.is(one('GET / HTTP/1.2\r\n\r\n').error, null);
  for (const v of ['HTTP/2.0', 'HTTP/0.9', 'HTTP/3.1']) {
    assert.is(one(`GET / ${v}\r\n\r\n`).error, 'InvalidHTTPVersion', v);
    assert.is(one(`GET / ${v}\r\n\r\n`, { permit_unconventional_http_version: true }).error, null, v);
  }
  for (const v of ['HTTP/1.10', 'HTTP/11', 'http/1.1', 'HTTP/1.1 ']) {
    assert.is(one(`GET / ${v}\r\n\r\n`, { permit_unconventional_http_version: true }).error, 'InvalidHTTPVersion', v);
  }
});

test('obsolete line folding: refused; with permit_obsolete_folding joined with one space', () => {
  const req = 'GET / HTTP/1.1\r\nLong: one\r\n two\r\n\tthree\r\nHost: x\r\n\r\n';
  assert.is(one(req).error, 'ObsoleteFolding');
  const got = one(req, { permit_obsolete_folding: true });
  assert.is(got.error, null);
  assert.is(got.requests[0]!.headers.HTTP_LONG, 'one two three');
});

test('strip_header_spaces: "Name : value" refused, or taken as "Name" with the setting', () => {
  const req = 'GET / HTTP/1.1\r\nX-Name \t: v\r\n\r\n';
  assert.is(one(req).error, 'InvalidHeaderName');
  assert.is(one(req, { strip_header_spaces: true }).requests[0]!.headers.HTTP_X_NAME, 'v');
});

test('request targets: never empty; "*" for OPTIONS, authority-form for CONNECT only; raw bytes as latin-1', () => {
  assert.is(one('GET  HTTP/1.1\r\n\r\n').error, 'InvalidRequestLine');
  assert.is(one('GET * HTTP/1.1\r\n\r\n').error, 'InvalidRequestLine');
  assert.is(one('OPTIONS * HTTP/1.1\r\n\r\n').error, null);
  assert.is(one('GET example.com:80 HTTP/1.1\r\n\r\n').error, 'InvalidRequestLine');
  assert.is(one('CONNECT example.com:80 HTTP/1.1\r\n\r\n').error, null);
  assert.is(one('GET /\xc3\xa0 HTTP/1.1\r\n\r\n').heads[0]!.target, '/\xc3\xa0');
  assert.is(one('GET /\r\n\r\n').error, 'InvalidRequestLine');
});

test('keep-alive as Gunicorn decides it: Connection first, else the version; a compression forces close', () => {
  const close = (s: string) => one(s).heads[0]!.close;
  assert.is(close('GET / HTTP/1.1\r\n\r\n'), false);
  assert.is(close('GET / HTTP/1.0\r\n\r\n'), true);
  assert.is(close('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'), false);
  assert.is(close('GET / HTTP/1.1\r\nConnection: close\r\n\r\n'), true);
  assert.is(close('POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'), true);
  assert.is(one('POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx').heads[0]!.expectsContinue, true);
  assert.is(one('POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx').heads[0]!.expectsContinue, false);
});

test('limits: the request line, the header count and size, the header block, a chunk line and the trailers', () => {
  assert.is(one(`GET /${'a'.repeat(8190)} HTTP/1.1\r\n\r\n`).error, 'LimitRequestLine');
  assert.is(one(`GET /${'a'.repeat(8200)}`).error, 'LimitRequestLine');
  assert.is(one('GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n', { limit_request_fields: 2 }).error, 'LimitRequestHeaders');
  assert.is(one('GET / HTTP/1.1\r\nA: 123456\r\n\r\n', { limit_request_field_size: 10 }).error, 'LimitRequestHeaders');
  assert.is(one(`GET / HTTP/1.1\r\n${'A: 1\r\n'.repeat(20)}`, { limit_request_fields: 2, limit_request_field_size: 10 }).error, 'LimitRequestHeaders');
  assert.is(one(chunked('5'.repeat(9000))).error, 'InvalidChunkSize');
  assert.is(one(chunked(`0\r\n${'X: y\r\n'.repeat(2000)}`), { limit_request_fields: 10, limit_request_field_size: 100 }).error, 'LimitRequestHeaders');
});

test('header values: no controls but HTAB; a header without ":" or name is refused', () => {
  assert.is(one('GET / HTTP/1.1\r\nA: b\x01c\r\n\r\n').error, 'InvalidHeader');
  assert.is(one('GET / HTTP/1.1\r\nA: b\nc\r\n\r\n').error, 'InvalidHeader');
  assert.is(one('GET / HTTP/1.1\r\nA: b\tc\r\n\r\n').error, null);
  assert.is(one('GET / HTTP/1.1\r\nAb\r\n\r\n').error, 'InvalidHeader');
  assert.is(one('GET / HTTP/1.1\r\n: b\r\n\r\n').error, 'InvalidHeader');
  assert.is(one('GET / HTTP/1.1\r\nA(: b\r\n\r\n').error, 'InvalidHeaderName');
});

test.run();
