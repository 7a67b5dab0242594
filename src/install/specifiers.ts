// PEP 440 version specifiers (">=1.0,!=1.3.*,<2"): parsing and matching as
// packaging.specifiers does, pre-releases included only when a specifier
// names one (or when nothing else matches: the resolver's call).

import { compareVersions, isPrerelease, parseVersion, type Version } from './versions.js';

export type Operator = '~=' | '==' | '!=' | '<=' | '>=' | '<' | '>' | '===';

export interface Specifier {
  op: Operator;
  /** The version as written, without a trailing `.*`. */
  version: string;
  /** `==1.2.*` / `!=1.2.*` */
  wildcard: boolean;
}

export type SpecifierSet = Specifier[];

export class InvalidSpecifier extends Error {}

const ONE = /^\s*(~=|===|==|!=|<=|>=|<|>)\s*([^\s,;]+)\s*$/;

export function parseSpecifiers(text: string): SpecifierSet {
  if (!text.trim()) return [];
  return text.split(',').map((part) => {
    const m = ONE.exec(part);
    if (!m) throw new InvalidSpecifier(`invalid version specifier: '${part.trim()}'`);
    const op = m[1] as Operator;
    let version = m[2]!;
    const wildcard = version.endsWith('.*');
    if (wildcard) {
      if (op !== '==' && op !== '!=') throw new InvalidSpecifier(`'.*' is only allowed with == and !=: '${part.trim()}'`);
      version = version.slice(0, -2);
    }
    if (op !== '===') parseVersion(version);
    if (op === '~=' && parseVersion(version).release.length < 2) throw new InvalidSpecifier(`~= needs at least two release segments: '${part.trim()}'`);
    return { op, version, wildcard };
  });
}

export function specifiersText(set: SpecifierSet): string {
  return set.map((s) => `${s.op}${s.version}${s.wildcard ? '.*' : ''}`).join(',');
}

const stripLocal = (v: Version): Version => ({ ...v, local: null });
const base = (v: Version): Version => ({ ...v, pre: null, post: null, dev: null, local: null });

/** `==1.2.*`: the release starts with 1.2 (padded with zeros), in the same epoch. */
function prefixMatch(v: Version, spec: Version): boolean {
  if (v.epoch !== spec.epoch) return false;
  const prefix = spec.release;
  for (let i = 0; i < prefix.length; i++) if ((v.release[i] ?? 0) !== prefix[i]) return false;
  return true;
}

export function matchesOne(v: Version, s: Specifier): boolean {
  if (s.op === '===') return v.text.trim().toLowerCase() === s.version.toLowerCase();
  const spec = parseVersion(s.version);
  switch (s.op) {
    case '==':
      if (s.wildcard) return prefixMatch(v, spec);
      return compareVersions(spec.local ? v : stripLocal(v), spec) === 0;
    case '!=':
      return !matchesOne(v, { ...s, op: '==' });
    case '~=': {
      const prefix = { ...spec, release: spec.release.slice(0, -1), pre: null, post: null, dev: null, local: null };
      return compareVersions(v, spec, true) >= 0 && prefixMatch(v, prefix);
    }
    case '<=':
      return compareVersions(v, spec, true) <= 0;
    case '>=':
      return compareVersions(v, spec, true) >= 0;
    case '<':
      if (compareVersions(v, spec, true) >= 0) return false;
      // <3.0 excludes 3.0's own pre-releases unless it names one.
      return !(!isPrerelease(spec) && isPrerelease(v) && compareVersions(base(v), base(spec)) === 0);
    case '>':
      if (compareVersions(v, spec, true) <= 0) return false;
      if (spec.post === null && v.post !== null && compareVersions(base(v), base(spec)) === 0) return false;
      return !(v.local && compareVersions(base(v), base(spec)) === 0);
  }
}

/** Whether a specifier set names a pre-release (so that pre-releases may match). */
export function allowsPrereleases(set: SpecifierSet): boolean {
  return set.some((s) => s.op !== '!=' && s.op !== '===' && isPrerelease(parseVersion(s.version)));
}

/** `prereleases`: whether a pre-release may match at all (else only when a specifier names one). */
export function contains(set: SpecifierSet, v: Version, prereleases = false): boolean {
  if (isPrerelease(v) && !prereleases && !allowsPrereleases(set)) return false;
  return set.every((s) => matchesOne(v, s));
}
