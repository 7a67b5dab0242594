// Installing wheels into the project's site-packages folder as pip does:
// files from the wheel (RECORD's hashes checked), purelib/platlib of the
// .data folder at the top, then INSTALLER, REQUESTED and a RECORD of what was
// written, so importlib.metadata finds the distribution. Scripts, headers
// and data files of .data are not installed: console scripts and entry points
// are not needed to serve, and there is no bin/ for a worker to run.
// A folder nicorn-py installed into is kept in step with the lock: a
// distribution that is no longer wanted is removed by its RECORD.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalName } from './markers.js';
import { distInfoDir, parseMetadata } from './wheels.js';
import { readZip } from './zip.js';

export const INSTALLER_NAME = 'nicorn-py';

export interface Installed {
  key: string;
  version: string;
  dir: string;
  installer: string;
}

export class InstallError extends Error {}

/** Distributions found in `target` (by their .dist-info folders). */
export function installedIn(target: string): Map<string, Installed> {
  const out = new Map<string, Installed>();
  if (!fs.existsSync(target)) return out;
  for (const entry of fs.readdirSync(target)) {
    if (!entry.endsWith('.dist-info')) continue;
    const dir = path.join(target, entry);
    const metaFile = path.join(dir, 'METADATA');
    if (!fs.existsSync(metaFile)) continue;
    const meta = parseMetadata(fs.readFileSync(metaFile, 'utf8'), metaFile);
    const installerFile = path.join(dir, 'INSTALLER');
    const installer = fs.existsSync(installerFile) ? fs.readFileSync(installerFile, 'utf8').trim() : '';
    out.set(canonicalName(meta.name), { key: canonicalName(meta.name), version: meta.version, dir, installer });
  }
  return out;
}

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') out.push(cur), (cur = '');
    else cur += c;
  }
  out.push(cur);
  return out;
}

const csv = (fields: string[]) => fields.map((f) => (/[",\n]/.test(f) ? `"${f.replaceAll('"', '""')}"` : f)).join(',');
const recordHash = (data: Buffer) => `sha256=${crypto.createHash('sha256').update(data).digest('base64url')}`;

/** Removes an installed distribution: every file its RECORD lists, then folders left empty. */
export function uninstall(target: string, dist: Installed): void {
  const record = path.join(dist.dir, 'RECORD');
  const dirs = new Set<string>();
  if (fs.existsSync(record)) {
    for (const line of fs.readFileSync(record, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const rel = parseCsvLine(line)[0]!;
      const file = path.resolve(target, rel);
      if (!file.startsWith(target + path.sep)) continue;
      fs.rmSync(file, { force: true });
      for (let d = path.dirname(file); d.startsWith(target + path.sep); d = path.dirname(d)) dirs.add(d);
      if (rel.endsWith('.py')) {
        // __pycache__ that the workers wrote beside it
        dirs.add(path.join(path.dirname(file), '__pycache__'));
      }
    }
  }
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    if (path.basename(d) === '__pycache__') fs.rmSync(d, { recursive: true, force: true });
    else {
      try {
        fs.rmdirSync(d);
      } catch {
        // not empty: other distributions' files
      }
    }
  }
  fs.rmSync(dist.dir, { recursive: true, force: true });
}

/** Unpacks one wheel into `target`; returns how many files it wrote. */
export function installWheel(target: string, data: Buffer, filename: string, requested: boolean): number {
  const entries = readZip(data, filename);
  const info = distInfoDir(entries.map((e) => e.name), filename);
  const dataDir = info.replace(/\.dist-info$/, '.data');
  const recordEntry = entries.find((e) => e.name === `${info}/RECORD`);
  const expected = new Map<string, string>();
  if (recordEntry) {
    for (const line of recordEntry.read().toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      const [p, hash] = parseCsvLine(line.trim());
      if (p && hash) expected.set(p, hash);
    }
  }
  const written: string[][] = [];
  for (const entry of entries) {
    if (entry.name.endsWith('/')) continue;
    let rel = entry.name;
    if (rel.startsWith(`${dataDir}/`)) {
      const [, scheme, ...rest] = rel.split('/');
      if (scheme !== 'purelib' && scheme !== 'platlib') continue;
      rel = rest.join('/');
    }
    if (rel === `${info}/RECORD` || rel === `${info}/INSTALLER` || rel === `${info}/REQUESTED`) continue;
    const file = path.resolve(target, rel);
    if (!file.startsWith(target + path.sep) || rel.split('/').includes('..')) throw new InstallError(`${filename}: ${entry.name} would be written outside the target folder; refused`);
    const body = entry.read();
    const want = expected.get(entry.name);
    if (want && want.startsWith('sha256=') && recordHash(body) !== want) {
      throw new InstallError(`${filename}: ${entry.name} does not match the hash in the wheel's RECORD; refused`);
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body, { mode: entry.mode & 0o111 ? 0o755 : 0o644 });
    written.push([rel, recordHash(body), String(body.length)]);
  }
  const infoDir = path.join(target, info);
  fs.mkdirSync(infoDir, { recursive: true });
  const extra: [string, string][] = [['INSTALLER', `${INSTALLER_NAME}\n`]];
  if (requested) extra.push(['REQUESTED', '']);
  for (const [name, body] of extra) {
    const buf = Buffer.from(body);
    fs.writeFileSync(path.join(infoDir, name), buf);
    written.push([`${info}/${name}`, recordHash(buf), String(buf.length)]);
  }
  written.push([`${info}/RECORD`, '', '']);
  fs.writeFileSync(path.join(infoDir, 'RECORD'), written.map(csv).join('\n') + '\n');
  return written.length;
}
