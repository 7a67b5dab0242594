// Where distributions come from: PEP 503 (HTML) and PEP 691 (JSON) simple
// indexes, --find-links folders or pages, and Pyodide's own package index
// (pyodide-lock.json beside the installed pyodide names each WebAssembly
// build and its sha256; the files live under a configurable base URL).
// Every download is checked against the sha256 its source published.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pyodideLock } from './environment.js';
import { canonicalName } from './markers.js';
import { parseSdistName, parseWheelName, parseMetadata, wheelMetadata, type CoreMetadata, type WheelName } from './wheels.js';

export interface Distribution {
  filename: string;
  /** http(s) URL, or an absolute local path. */
  url: string;
  sha256: string | null;
  requiresPython: string | null;
  yanked: boolean;
  /** PEP 658/714: the core metadata is served beside the file (its sha256 when given, else true). */
  coreMetadata: string | boolean;
  /** The index, folder or "Pyodide's index" it was found in (for messages and the lock). */
  origin: string;
  wheel: WheelName | null;
  /** The version a file name gives (wheels and sdists). */
  version: string | null;
}

export class IndexError extends Error {}

export const PYODIDE_ORIGIN = "Pyodide's package index";
export class HashMismatch extends Error {}

export interface IndexOptions {
  indexUrls: string[];
  findLinks: string[];
  /** Base URL (or folder) of Pyodide's packages; null: not consulted. */
  pyodideIndexUrl: string | null;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** file:// URLs as paths; local paths as they are. */
function localPath(s: string): string | null {
  if (s.startsWith('file://')) return new URL(s).pathname;
  return isUrl(s) ? null : path.resolve(s);
}

async function get(url: string, accept?: string): Promise<{ status: number; type: string; body: Buffer; url: string }> {
  const local = localPath(url);
  if (local !== null) {
    try {
      return { status: 200, type: '', body: fs.readFileSync(local), url: local };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { status: 404, type: '', body: Buffer.alloc(0), url: local };
      throw new IndexError(`cannot read ${local}: ${(e as NodeJS.ErrnoException).code}`);
    }
  }
  let res: Response;
  try {
    res = await fetch(url, { headers: accept ? { accept } : {}, redirect: 'follow' });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new IndexError(`cannot reach ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()), url: res.url || url };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescape = (s: string) =>
  s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (all, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENTITIES[e] ?? all),
  );

function describe(filename: string, url: string, origin: string, fields: Partial<Distribution>): Distribution {
  const wheel = parseWheelName(filename);
  return {
    filename,
    url,
    sha256: null,
    requiresPython: null,
    yanked: false,
    coreMetadata: false,
    origin,
    wheel,
    version: wheel?.version ?? parseSdistName(filename)?.version ?? null,
    ...fields,
  };
}

/** The files an HTML page (PEP 503, or a --find-links page) links to. */
export function parseSimpleHtml(html: string, base: string, origin: string): Distribution[] {
  const out: Distribution[] = [];
  for (const m of html.matchAll(/<a\s([^>]*)>([^<]*)<\/a>/gi)) {
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) attrs[a[1]!.toLowerCase()] = unescape(a[2] ?? a[3] ?? a[4] ?? '');
    if (!attrs.href) continue;
    const url = new URL(attrs.href, base);
    const fragment = /sha256=([0-9a-f]{64})/i.exec(url.hash)?.[1]?.toLowerCase() ?? null;
    url.hash = '';
    const filename = decodeURIComponent(url.pathname.split('/').pop() ?? '') || unescape(m[2]!.trim());
    const meta = attrs['data-core-metadata'] ?? attrs['data-dist-info-metadata'];
    out.push(
      describe(filename, url.href, origin, {
        sha256: fragment,
        requiresPython: attrs['data-requires-python'] || null,
        yanked: 'data-yanked' in attrs,
        coreMetadata: meta === undefined || meta === 'false' ? false : (/sha256=([0-9a-f]{64})/i.exec(meta)?.[1]?.toLowerCase() ?? true),
      }),
    );
  }
  return out;
}

interface Pep691File {
  filename: string;
  url: string;
  hashes?: Record<string, string>;
  'requires-python'?: string | null;
  yanked?: boolean | string;
  'core-metadata'?: boolean | Record<string, string>;
  'dist-info-metadata'?: boolean | Record<string, string>;
}

export function parseSimpleJson(body: string, base: string, origin: string): Distribution[] {
  const doc = JSON.parse(body) as { files?: Pep691File[] };
  return (doc.files ?? []).map((f) => {
    const meta = f['core-metadata'] ?? f['dist-info-metadata'] ?? false;
    return describe(f.filename, new URL(f.url, base).href, origin, {
      sha256: f.hashes?.sha256?.toLowerCase() ?? null,
      requiresPython: f['requires-python'] ?? null,
      yanked: !!f.yanked,
      coreMetadata: typeof meta === 'object' ? (meta.sha256?.toLowerCase() ?? true) : meta,
    });
  });
}

/** Pyodide's index base URL for the installed release (its CDN's "full" distribution). */
export function defaultPyodideIndexUrl(version: string): string {
  return `https://cdn.jsdelivr.net/pyodide/v${version}/full/`;
}

export class IndexClient {
  private projects = new Map<string, Promise<Distribution[]>>();
  private findLinksFiles: Promise<Distribution[]> | null = null;
  private files = new Map<string, Promise<Buffer>>();
  /** Bytes fetched over HTTP (for the summary). */
  downloaded = 0;

  constructor(private opts: IndexOptions) {}

  /** Every file of a project, from every source (pip merges indexes and find-links). */
  distributions(key: string): Promise<Distribution[]> {
    let p = this.projects.get(key);
    if (!p) {
      p = this.load(key);
      this.projects.set(key, p);
    }
    return p;
  }

  private async load(key: string): Promise<Distribution[]> {
    const lists = await Promise.all([
      ...this.opts.indexUrls.map((index) => this.fromIndex(index, key)),
      this.fromFindLinks().then((all) => all.filter((d) => (d.wheel?.key ?? parseSdistName(d.filename)?.key) === key)),
    ]);
    const out = lists.flat();
    const pyodide = this.fromPyodide(key);
    if (pyodide) out.push(pyodide);
    return out;
  }

  private async fromIndex(index: string, key: string): Promise<Distribution[]> {
    const page = `${index.replace(/\/+$/, '')}/${key}/`;
    const res = await get(page, 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1');
    if (res.status === 404) return [];
    if (res.status !== 200) throw new IndexError(`${page} answered HTTP ${res.status}`);
    const base = isUrl(res.url) ? res.url : page;
    if (res.type.includes('json')) return parseSimpleJson(res.body.toString('utf8'), base, index);
    return parseSimpleHtml(res.body.toString('utf8'), base, index);
  }

  private fromFindLinks(): Promise<Distribution[]> {
    this.findLinksFiles ??= Promise.all(
      this.opts.findLinks.map(async (link) => {
        const local = localPath(link);
        if (local !== null) {
          if (!fs.existsSync(local)) throw new IndexError(`--find-links ${link}: no such folder`);
          if (fs.statSync(local).isDirectory()) {
            return fs.readdirSync(local).map((f) => describe(f, path.join(local, f), link, {}));
          }
          return [describe(path.basename(local), local, link, {})];
        }
        const res = await get(link);
        if (res.status !== 200) throw new IndexError(`--find-links ${link} answered HTTP ${res.status}`);
        return parseSimpleHtml(res.body.toString('utf8'), res.url, link);
      }),
    ).then((lists) => lists.flat());
    return this.findLinksFiles;
  }

  /** The WebAssembly (or pure) build Pyodide publishes for this release, if any. */
  private fromPyodide(key: string): Distribution | null {
    if (this.opts.pyodideIndexUrl === null) return null;
    const lock = pyodideLock();
    const entry = Object.values(lock.packages).find((p) => canonicalName(p.name) === key && p.package_type === 'package');
    if (!entry || !entry.file_name.endsWith('.whl')) return null;
    const base = this.opts.pyodideIndexUrl;
    const url = isUrl(base) ? new URL(entry.file_name, base.endsWith('/') ? base : `${base}/`).href : path.join(localPath(base)!, entry.file_name);
    return describe(entry.file_name, url, PYODIDE_ORIGIN, { sha256: entry.sha256 });
  }

  /** The file's bytes, checked against every hash that must match (its source's, and the lock's or --hash's). */
  fetchFile(dist: Distribution, required: string[] = []): Promise<Buffer> {
    let p = this.files.get(dist.url);
    if (!p) {
      p = (async () => {
        const res = await get(dist.url);
        if (res.status !== 200) throw new IndexError(`downloading ${dist.filename} from ${dist.url}: HTTP ${res.status}`);
        if (isUrl(dist.url)) this.downloaded += res.body.length;
        return res.body;
      })();
      this.files.set(dist.url, p);
    }
    return p.then((body) => {
      const got = sha256(body);
      if (dist.sha256 && got !== dist.sha256) {
        throw new HashMismatch(`${dist.filename} from ${dist.origin}: sha256 ${got} does not match the hash the index published (${dist.sha256}); the file was refused`);
      }
      if (required.length && !required.includes(got)) {
        throw new HashMismatch(`${dist.filename}: sha256 ${got} matches none of the required hashes (${required.join(', ')}); the file was refused`);
      }
      return body;
    });
  }

  /** Core metadata: from the .metadata file when the index serves one (PEP 658), else from the wheel itself. */
  async metadata(dist: Distribution, required: string[] = []): Promise<CoreMetadata> {
    if (dist.coreMetadata && !localPath(dist.url)) {
      const res = await get(`${dist.url}.metadata`);
      if (res.status === 200) {
        if (typeof dist.coreMetadata === 'string' && sha256(res.body) !== dist.coreMetadata) {
          throw new HashMismatch(`${dist.filename}.metadata: sha256 does not match the hash the index published; refused`);
        }
        return parseMetadata(res.body.toString('utf8'), `${dist.filename} METADATA`);
      }
    }
    return wheelMetadata(await this.fetchFile(dist, required), dist.filename);
  }
}
