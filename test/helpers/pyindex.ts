// A real Python package index for the install tests: wheels built here (zip
// files, as pip and nicorn-py read them) from tiny packages or from the
// Debian-packaged sources in fixtures/.packages, served over HTTP on
// 127.0.0.1 as PEP 503 pages (HTML) and PEP 691 (JSON) when asked for it.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { crc32 } from '../../src/install/zip.js';

const canonical = (n: string) => n.toLowerCase().replace(/[-_.]+/g, '-');

/** A zip archive of `files` (deflated), as Python's zipfile writes it. */
export function zip(files: [string, Buffer][]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBuf = Buffer.from(name);
    const packed = zlib.deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    locals.push(local, nameBuf, packed);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE((3 << 8) | 20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(8, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(packed.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(nameBuf.length, 28);
    c.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    c.writeUInt32LE(offset, 42);
    central.push(c, nameBuf);
    offset += 30 + nameBuf.length + packed.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export interface WheelSpec {
  name: string;
  version: string;
  /** Requires-Dist lines. */
  requires?: string[];
  extras?: string[];
  requiresPython?: string;
  /** python-abi-platform */
  tag?: string;
  /** Paths in the wheel -> contents; default: a module `<name>.py` that says its version. */
  files?: Record<string, string | Buffer>;
  /** Extra METADATA headers (Metadata-Version etc. are written). */
}

/** Writes a wheel into `dir`; returns its file name. */
export function buildWheel(dir: string, spec: WheelSpec): string {
  const dist = spec.name.replace(/[-.]+/g, '_');
  const tag = spec.tag ?? 'py3-none-any';
  const info = `${dist}-${spec.version}.dist-info`;
  const files: [string, Buffer][] = Object.entries(
    spec.files ?? { [`${dist.toLowerCase()}.py`]: `__version__ = ${JSON.stringify(spec.version)}\n` },
  ).map(([p, c]) => [p, Buffer.from(c)]);
  const meta = [
    'Metadata-Version: 2.1',
    `Name: ${spec.name}`,
    `Version: ${spec.version}`,
    ...(spec.requiresPython ? [`Requires-Python: ${spec.requiresPython}`] : []),
    ...(spec.extras ?? []).map((e) => `Provides-Extra: ${e}`),
    ...(spec.requires ?? []).map((r) => `Requires-Dist: ${r}`),
    '',
    `${spec.name}, built by the nicorn-py tests.`,
    '',
  ].join('\n');
  files.push([`${info}/METADATA`, Buffer.from(meta)]);
  files.push([`${info}/WHEEL`, Buffer.from(`Wheel-Version: 1.0\nGenerator: nicorn-py tests\nRoot-Is-Purelib: true\nTag: ${tag}\n`)]);
  const record = files.map(([p, c]) => `${p},sha256=${crypto.createHash('sha256').update(c).digest('base64url')},${c.length}`);
  record.push(`${info}/RECORD,,`);
  files.push([`${info}/RECORD`, Buffer.from(record.join('\n') + '\n')]);
  const filename = `${dist}-${spec.version}-${tag}.whl`;
  fs.writeFileSync(path.join(dir, filename), zip(files));
  return filename;
}

/**
 * A wheel of a distribution installed in a site-packages folder (Debian's
 * python3-* packages in fixtures/.packages): its package folder (the
 * distribution's name, lower case) and its METADATA (PKG-INFO of an egg-info).
 */
export function wheelFromSite(site: string, name: string, dir: string): string {
  const entries = fs.readdirSync(site);
  const info = entries.find((e) => /\.(dist|egg)-info$/.test(e) && canonical(e.replace(/-[^-]+\.(dist|egg)-info$/, '')) === canonical(name));
  if (!info) throw new Error(`${name} is not in ${site}`);
  const version = info.replace(/\.(dist|egg)-info$/, '').split('-').pop()!;
  const metaFile = fs.existsSync(path.join(site, info, 'METADATA')) ? 'METADATA' : 'PKG-INFO';
  const meta = fs.readFileSync(path.join(site, info, metaFile), 'utf8');
  const requires = [...meta.matchAll(/^Requires-Dist: (.*)$/gm)].map((m) => m[1]!);
  const pkg = name.toLowerCase().replace(/-/g, '_');
  const files: Record<string, Buffer> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(site, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== '__pycache__') walk(r);
      } else if (e.isFile()) files[r] = fs.readFileSync(path.join(site, r));
    }
  };
  if (fs.existsSync(path.join(site, pkg))) walk(pkg);
  else files[`${pkg}.py`] = fs.readFileSync(path.join(site, `${pkg}.py`));
  const extras = [...meta.matchAll(/^Provides-Extra: (.*)$/gm)].map((m) => m[1]!);
  return buildWheel(dir, { name, version, requires, extras, files, requiresPython: /^Requires-Python: (.*)$/m.exec(meta)?.[1] });
}

export interface IndexServer {
  url: string;
  /** Paths requested so far, in order. */
  requests: string[];
  /** Serve these bytes instead of the file's own (the index still publishes the file's hash). */
  tamper: Map<string, Buffer>;
  /** Answer PEP 503 HTML even when JSON is asked for. */
  htmlOnly: boolean;
  close(): Promise<void>;
}

/** Serves every wheel in `dir` (read at each request, so tests may add files). */
export async function serveIndex(dir: string, opts: { yanked?: string[]; requiresPython?: Record<string, string> } = {}): Promise<IndexServer> {
  const requests: string[] = [];
  const state = { tamper: new Map<string, Buffer>(), htmlOnly: false };
  const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex');
  const projectOf = (f: string) => canonical(f.split('-')[0]!);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push(url.pathname);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.whl') || f.endsWith('.tar.gz'));
    const simple = /^\/simple\/([^/]+)\/$/.exec(url.pathname);
    if (simple) {
      const project = simple[1]!;
      const mine = files.filter((f) => projectOf(f) === project);
      if (mine.length === 0) {
        res.writeHead(404).end('not found');
        return;
      }
      const wantsJson = /application\/vnd\.pypi\.simple\.v1\+json/.test(req.headers.accept ?? '') && !state.htmlOnly;
      if (wantsJson) {
        res.writeHead(200, { 'content-type': 'application/vnd.pypi.simple.v1+json' });
        res.end(
          JSON.stringify({
            meta: { 'api-version': '1.1' },
            name: project,
            files: mine.map((f) => ({
              filename: f,
              url: `../../files/${f}`,
              hashes: { sha256: sha(f) },
              'requires-python': opts.requiresPython?.[f] ?? null,
              yanked: opts.yanked?.includes(f) ?? false,
            })),
          }),
        );
        return;
      }
      const links = mine.map((f) => {
        const rp = opts.requiresPython?.[f];
        const attrs = `${rp ? ` data-requires-python="${rp.replace(/</g, '&lt;').replace(/>/g, '&gt;')}"` : ''}${opts.yanked?.includes(f) ? ' data-yanked=""' : ''}`;
        return `<a href="/files/${f}#sha256=${sha(f)}"${attrs}>${f}</a><br/>`;
      });
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!DOCTYPE html><html><body><h1>Links for ${project}</h1>\n${links.join('\n')}\n</body></html>`);
      return;
    }
    const file = /^\/files\/([^/]+)$/.exec(url.pathname)?.[1];
    if (file && files.includes(file)) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(state.tamper.get(file) ?? fs.readFileSync(path.join(dir, file)));
      return;
    }
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/simple/`,
    requests,
    get tamper() {
      return state.tamper;
    },
    get htmlOnly() {
      return state.htmlOnly;
    },
    set htmlOnly(v: boolean) {
      state.htmlOnly = v;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
