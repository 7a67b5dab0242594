// PEP 508 environment markers: parsed once, evaluated against the workers'
// Python (environment.ts), with `extra` set while a dependency's extras are
// being looked at. Version-like variables compare as PEP 440 versions, the
// rest as strings, as packaging.markers does.

import { contains, parseSpecifiers } from './specifiers.js';
import { tryVersion } from './versions.js';
import type { MarkerEnv } from './environment.js';

export type Marker =
  | { kind: 'and' | 'or'; left: Marker; right: Marker }
  | { kind: 'compare'; left: MarkerValue; op: string; right: MarkerValue };

export type MarkerValue = { variable: string } | { literal: string };

export class InvalidMarker extends Error {}

const VARIABLES = new Set([
  'os_name', 'sys_platform', 'platform_machine', 'platform_python_implementation', 'platform_release', 'platform_system',
  'platform_version', 'python_version', 'python_full_version', 'implementation_name', 'implementation_version', 'extra',
  'extras', 'dependency_groups',
]);
/** The dotted names of PEP 345 that markers still accept. */
const LEGACY: Record<string, string> = {
  'os.name': 'os_name', 'sys.platform': 'sys_platform', 'platform.version': 'platform_version', 'platform.machine': 'platform_machine',
  'platform.python_implementation': 'platform_python_implementation', python_implementation: 'platform_python_implementation',
};

const TOKEN = /\s*(?:(\()|(\))|('[^']*'|"[^"]*")|(===|==|!=|<=|>=|~=|<|>)|(not\s+in\b|in\b|and\b|or\b)|([A-Za-z_][\w.]*))/y;

export function parseMarker(text: string): Marker {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (text.slice(at).trim()) {
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(text);
    if (!m) throw new InvalidMarker(`invalid marker: '${text}' (at '${text.slice(at).trim()}')`);
    tokens.push(m[0].trim().replace(/\s+/g, ' '));
    at = TOKEN.lastIndex;
  }
  let i = 0;
  const fail = (why: string): never => {
    throw new InvalidMarker(`invalid marker: '${text}': ${why}`);
  };
  const value = (): MarkerValue => {
    const t = tokens[i++] ?? fail('unexpected end');
    if (/^['"]/.test(t)) return { literal: t.slice(1, -1) };
    const name = LEGACY[t] ?? t;
    if (!VARIABLES.has(name)) fail(`unknown variable ${t}`);
    return { variable: name };
  };
  const atom = (): Marker => {
    if (tokens[i] === '(') {
      i++;
      const inner = or();
      if (tokens[i++] !== ')') fail("missing ')'");
      return inner;
    }
    const left = value();
    const op = tokens[i++] ?? fail('missing operator');
    if (!/^(===|==|!=|<=|>=|~=|<|>|in|not in)$/.test(op)) fail(`unknown operator ${op}`);
    return { kind: 'compare', left, op, right: value() };
  };
  const and = (): Marker => {
    let left = atom();
    while (tokens[i] === 'and') {
      i++;
      left = { kind: 'and', left, right: atom() };
    }
    return left;
  };
  const or = (): Marker => {
    let left = and();
    while (tokens[i] === 'or') {
      i++;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };
  const marker = or();
  if (i < tokens.length) fail(`unexpected '${tokens[i]}'`);
  return marker;
}

/** PEP 503's normal form of a name (extras compare in it too). */
export const canonicalName = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '-');

function compare(left: string, op: string, right: string, variable: string | null): boolean {
  if (variable === 'extra') [left, right] = [canonicalName(left), canonicalName(right)];
  if (op === 'in') return right.includes(left);
  if (op === 'not in') return !right.includes(left);
  // packaging: a PEP 440 comparison when the right side is a valid specifier, else strings.
  const v = tryVersion(left);
  if (v && op !== '===') {
    try {
      return contains(parseSpecifiers(`${op}${right}`), v, true);
    } catch {
      // not a version on the right: compare as strings below
    }
  }
  switch (op) {
    case '==':
    case '===':
      return left === right;
    case '!=':
      return left !== right;
    default:
      throw new InvalidMarker(`cannot compare '${left}' ${op} '${right}' (not versions)`);
  }
}

/** `env` plus `extra` (one extra being evaluated, or '' for none). */
export function evaluateMarker(marker: Marker, env: MarkerEnv, extra = ''): boolean {
  if (marker.kind !== 'compare') {
    const left = evaluateMarker(marker.left, env, extra);
    return marker.kind === 'and' ? left && evaluateMarker(marker.right, env, extra) : left || evaluateMarker(marker.right, env, extra);
  }
  const get = (v: MarkerValue): string => ('literal' in v ? v.literal : v.variable === 'extra' ? extra : (env[v.variable] ?? ''));
  const variable = 'variable' in marker.left ? marker.left.variable : 'variable' in marker.right ? marker.right.variable : null;
  return compare(get(marker.left), marker.op, get(marker.right), variable);
}

/** Whether a marker mentions `extra` (a dependency only some extras bring). */
export function mentionsExtra(marker: Marker): boolean {
  if (marker.kind !== 'compare') return mentionsExtra(marker.left) || mentionsExtra(marker.right);
  return [marker.left, marker.right].some((v) => 'variable' in v && v.variable === 'extra');
}
