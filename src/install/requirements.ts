// What is asked for: PEP 508 requirement strings ("flask[async]>=3; python_version>='3.9'")
// and pip's requirements files (-r nesting, line continuations, comments,
// --index-url / --extra-index-url / --find-links / --hash options). Options
// pip has that nicorn-py does not honour stop the install naming them,
// rather than being skipped.

import fs from 'node:fs';
import path from 'node:path';
import { canonicalName, parseMarker, type Marker } from './markers.js';
import { parseSpecifiers, type SpecifierSet } from './specifiers.js';

export interface Requirement {
  /** As written. */
  name: string;
  /** PEP 503 normal form. */
  key: string;
  extras: string[];
  specifiers: SpecifierSet;
  marker: Marker | null;
  /** `name @ url` (PEP 508 direct reference). */
  url: string | null;
  /** sha256 hashes pip's --hash gave it. */
  hashes: string[];
  /** Where it was asked for: "requirements.txt line 3", "flask 3.1.1". */
  source: string;
  text: string;
}

export class RequirementError extends Error {}

const NAME = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*/;

export function parseRequirement(text: string, source: string): Requirement {
  const fail = (why: string): never => {
    throw new RequirementError(`${source}: invalid requirement '${text.trim()}': ${why}`);
  };
  const [spec = '', ...markerParts] = splitMarker(text);
  const m = NAME.exec(spec) ?? fail('no package name');
  let rest = spec.slice(m[0].length);
  let extras: string[] = [];
  const ex = /^\[([^\]]*)\]\s*/.exec(rest);
  if (ex) {
    extras = ex[1]!.split(',').map((e) => e.trim()).filter(Boolean).map(canonicalName);
    rest = rest.slice(ex[0].length);
  }
  let url: string | null = null;
  let specifiers: SpecifierSet = [];
  if (rest.startsWith('@')) {
    url = rest.slice(1).trim();
    if (!url) fail('no URL after @');
  } else {
    const inParens = /^\((.*)\)\s*$/.exec(rest);
    try {
      specifiers = parseSpecifiers(inParens ? inParens[1]! : rest);
    } catch (e) {
      fail((e as Error).message);
    }
  }
  let marker: Marker | null = null;
  if (markerParts.length) {
    try {
      marker = parseMarker(markerParts.join(';'));
    } catch (e) {
      fail((e as Error).message);
    }
  }
  return { name: m[1]!, key: canonicalName(m[1]!), extras, specifiers, marker, url, hashes: [], source, text: text.trim() };
}

/** "spec ; marker": a URL may hold ';', so after a URL the marker needs a space before the ';' (PEP 508). */
function splitMarker(text: string): string[] {
  const at = text.indexOf('@');
  if (at >= 0) {
    const i = text.search(/\s;/);
    return i < 0 ? [text] : [text.slice(0, i), text.slice(i + 2)];
  }
  const i = text.indexOf(';');
  return i < 0 ? [text] : [text.slice(0, i), text.slice(i + 1)];
}

/** Where packages come from, as a requirements file or the command line says. */
export interface Sources {
  indexUrl: string | null;
  extraIndexUrls: string[];
  findLinks: string[];
  noIndex: boolean;
}

export interface RequirementsFile {
  requirements: Requirement[];
  sources: Sources;
}

const UNSUPPORTED = /^(-e|--editable|-c|--constraint|--use-feature|--global-option|--config-settings|--no-binary|--only-binary|--prefer-binary|--pre|--trusted-host)\b/;

/** Reads a requirements file (and those it includes with -r), as pip does. */
export function readRequirementsFile(file: string, seen = new Set<string>()): RequirementsFile {
  const full = path.resolve(file);
  if (seen.has(full)) throw new RequirementError(`${file}: included from itself (-r loop)`);
  seen.add(full);
  let text: string;
  try {
    text = fs.readFileSync(full, 'utf8');
  } catch (e) {
    throw new RequirementError(`cannot read requirements file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const out: RequirementsFile = { requirements: [], sources: { indexUrl: null, extraIndexUrls: [], findLinks: [], noIndex: false } };
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    let line = lines[n]!;
    while (line.endsWith('\\') && n + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++n];
    // A comment starts at '#' at the line's start or after whitespace (a URL fragment keeps its '#').
    line = line.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const where = `${file} line ${lineNo}`;
    const option = /^(-r|--requirement|-i|--index-url|--extra-index-url|-f|--find-links)(?:\s*=\s*|\s+)(\S+)$/.exec(line);
    if (option) {
      const [, flag, value] = option as unknown as [string, string, string];
      const rel = (v: string) => (/^[a-z]+:\/\//i.test(v) ? v : path.resolve(path.dirname(full), v));
      if (flag === '-r' || flag === '--requirement') {
        const inner = readRequirementsFile(rel(value), seen);
        out.requirements.push(...inner.requirements);
        mergeSources(out.sources, inner.sources);
      } else if (flag === '-i' || flag === '--index-url') out.sources.indexUrl = value;
      else if (flag === '--extra-index-url') out.sources.extraIndexUrls.push(value);
      else out.sources.findLinks.push(rel(value));
      continue;
    }
    if (line === '--no-index') {
      out.sources.noIndex = true;
      continue;
    }
    if (UNSUPPORTED.test(line)) throw new RequirementError(`${where}: '${line.split(/\s/)[0]}' is not supported by nicorn-py install`);
    if (line.startsWith('-')) throw new RequirementError(`${where}: unknown option '${line}'`);
    // Per-requirement options: only --hash.
    const hashes: string[] = [];
    const spec = line.replace(/\s--hash[=\s]\s*(\w+):([0-9a-f]+)/gi, (_all, algo: string, hex: string) => {
      if (algo.toLowerCase() !== 'sha256') throw new RequirementError(`${where}: only sha256 hashes are supported, not ${algo}`);
      hashes.push(hex.toLowerCase());
      return '';
    });
    if (/\s--?\w/.test(spec)) throw new RequirementError(`${where}: unsupported option in '${line}'`);
    const req = parseRequirement(spec, where);
    req.hashes = hashes;
    out.requirements.push(req);
  }
  return out;
}

export function mergeSources(into: Sources, from: Sources): void {
  into.indexUrl = from.indexUrl ?? into.indexUrl;
  into.extraIndexUrls.push(...from.extraIndexUrls);
  into.findLinks.push(...from.findLinks);
  into.noIndex ||= from.noIndex;
}
