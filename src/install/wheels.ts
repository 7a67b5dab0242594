// Wheel file names (PEP 427: name-version[-build]-python-abi-platform.whl,
// compressed tag sets such as py2.py3-none-any) and core metadata (the
// METADATA file's Requires-Dist, Requires-Python, Provides-Extra).

import { canonicalName } from './markers.js';
import { parseRequirement, type Requirement } from './requirements.js';
import { readZip } from './zip.js';

export interface WheelName {
  /** PEP 503 normal form. */
  key: string;
  version: string;
  build: string | null;
  /** Every tag the file name stands for (py2.py3-none-any: two). */
  tags: string[];
}

export function parseWheelName(filename: string): WheelName | null {
  const m = /^([^-]+)-([^-]+)(?:-(\d[^-]*))?-([^-]+)-([^-]+)-([^-]+)\.whl$/.exec(filename);
  if (!m) return null;
  const [, name, version, build, py, abi, plat] = m as unknown as string[];
  const tags: string[] = [];
  for (const p of py!.split('.')) for (const a of abi!.split('.')) for (const pl of plat!.split('.')) tags.push(`${p}-${a}-${pl}`);
  return { key: canonicalName(name!), version: version!, build: build ?? null, tags };
}

/** A source distribution's name and version (for messages: nicorn-py installs wheels only). */
export function parseSdistName(filename: string): { key: string; version: string } | null {
  const m = /^(.+)-([^-]+)\.(tar\.gz|zip|tar\.bz2|tgz)$/.exec(filename);
  return m ? { key: canonicalName(m[1]!), version: m[2]! } : null;
}

/** Best (lowest) index of a compatible tag in `supported`, or -1. */
export function tagRank(tags: string[], supported: string[]): number {
  let best = -1;
  for (const t of tags) {
    const i = supported.indexOf(t);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/** A tag for a Python other than CPython 3 or an interpreter-specific build (cp313, x86_64...): for messages. */
export function isNativeTag(tag: string): boolean {
  return !tag.endsWith('-none-any');
}

export interface CoreMetadata {
  name: string;
  version: string;
  requiresPython: string | null;
  requiresDist: Requirement[];
  providesExtra: string[];
}

/** RFC 822-style headers of METADATA (the body, the long description, is skipped). */
export function parseMetadata(text: string, what: string): CoreMetadata {
  const headers: [string, string][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && headers.length) headers.at(-1)![1] += `\n${line.trim()}`;
    else {
      const i = line.indexOf(':');
      if (i > 0) headers.push([line.slice(0, i).toLowerCase(), line.slice(i + 1).trim()]);
    }
  }
  const all = (k: string) => headers.filter(([h]) => h === k).map(([, v]) => v);
  return {
    name: all('name')[0] ?? '',
    version: all('version')[0] ?? '',
    requiresPython: all('requires-python')[0] ?? null,
    requiresDist: all('requires-dist').map((r) => parseRequirement(r, what)),
    providesExtra: all('provides-extra').map(canonicalName),
  };
}

/** The .dist-info folder of a wheel's entries (`name-version.dist-info/`). */
export function distInfoDir(names: string[], what: string): string {
  const dirs = new Set(names.map((n) => /^([^/]+\.dist-info)\//.exec(n)?.[1]).filter((d): d is string => !!d));
  if (dirs.size !== 1) throw new Error(`${what}: expected one .dist-info folder, found ${dirs.size}`);
  return [...dirs][0]!;
}

export function wheelMetadata(data: Buffer, what: string): CoreMetadata {
  const entries = readZip(data, what);
  const dir = distInfoDir(entries.map((e) => e.name), what);
  const meta = entries.find((e) => e.name === `${dir}/METADATA`);
  if (!meta) throw new Error(`${what}: ${dir}/METADATA is missing`);
  return parseMetadata(meta.read().toString('utf8'), `${what} METADATA`);
}
