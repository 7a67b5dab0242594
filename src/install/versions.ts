// PEP 440 versions: parsing (the normalizations PEP 440 allows: 1.0RC1,
// 1.0-post2, v1.0) and the ordering pip uses (packaging.version's key).

export interface Version {
  epoch: number;
  release: number[];
  pre: { label: 'a' | 'b' | 'rc'; n: number } | null;
  post: number | null;
  dev: number | null;
  local: (string | number)[] | null;
  /** As written. */
  text: string;
}

const PATTERN =
  /^\s*v?(?:(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d+)?)?(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?(?:[-_.]?(dev)[-_.]?(\d+)?)?)(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$/i;

const PRE_LABEL: Record<string, 'a' | 'b' | 'rc'> = { a: 'a', alpha: 'a', b: 'b', beta: 'b', c: 'rc', rc: 'rc', pre: 'rc', preview: 'rc' };

export class InvalidVersion extends Error {}

export function parseVersion(text: string): Version {
  const m = PATTERN.exec(text);
  if (!m) throw new InvalidVersion(`invalid version: '${text}'`);
  const preLabel = m[3]?.toLowerCase();
  return {
    epoch: m[1] ? Number(m[1]) : 0,
    release: m[2]!.split('.').map(Number),
    pre: preLabel ? { label: PRE_LABEL[preLabel]!, n: m[4] ? Number(m[4]) : 0 } : null,
    post: m[5] !== undefined ? Number(m[5]) : m[6] ? (m[7] ? Number(m[7]) : 0) : null,
    dev: m[8] ? (m[9] ? Number(m[9]) : 0) : null,
    local: m[10] ? m[10].toLowerCase().split(/[-_.]/).map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : null,
    text,
  };
}

export function tryVersion(text: string): Version | null {
  try {
    return parseVersion(text);
  } catch {
    return null;
  }
}

/** PEP 440's normal form (1.0rc1, 1.0.post2, 2!1.0+local.1). */
export function normalVersion(v: Version): string {
  let s = v.epoch ? `${v.epoch}!` : '';
  s += v.release.join('.');
  if (v.pre) s += `${v.pre.label}${v.pre.n}`;
  if (v.post !== null) s += `.post${v.post}`;
  if (v.dev !== null) s += `.dev${v.dev}`;
  if (v.local) s += `+${v.local.join('.')}`;
  return s;
}

export const isPrerelease = (v: Version): boolean => v.pre !== null || v.dev !== null;

function cmpNum(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpRelease(a: number[], b: number[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = cmpNum(a[i] ?? 0, b[i] ?? 0);
    if (c) return c;
  }
  return 0;
}

const PRE_ORDER = { a: 0, b: 1, rc: 2 };

/** The pre-release part's rank: a dev release of a final version sorts before its pre-releases. */
function preRank(v: Version): [number, number] {
  if (v.pre) return [PRE_ORDER[v.pre.label], v.pre.n];
  if (v.post === null && v.dev !== null) return [-1, 0];
  return [3, 0];
}

function cmpLocal(a: (string | number)[] | null, b: (string | number)[] | null): number {
  if (!a || !b) return a ? 1 : b ? -1 : 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    // Numeric segments sort after alphanumeric ones.
    if (typeof x !== typeof y) return typeof x === 'number' ? 1 : -1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** packaging.version's order; `ignoreLocal` compares public versions only. */
export function compareVersions(a: Version, b: Version, ignoreLocal = false): number {
  const [ra, rb] = [preRank(a), preRank(b)];
  return (
    cmpNum(a.epoch, b.epoch) ||
    cmpRelease(a.release, b.release) ||
    cmpNum(ra[0], rb[0]) ||
    cmpNum(ra[1], rb[1]) ||
    cmpNum(a.post ?? -1, b.post ?? -1) ||
    cmpNum(a.dev ?? Infinity, b.dev ?? Infinity) ||
    (ignoreLocal ? 0 : cmpLocal(a.local, b.local))
  );
}
