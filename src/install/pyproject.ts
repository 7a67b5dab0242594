// pyproject.toml's [project] dependencies and optional-dependencies (PEP 621),
// read by a TOML reader that covers what pyproject files hold (tables, dotted
// keys, strings of all four kinds, arrays, inline tables, numbers, booleans;
// dates are kept as text). A file it cannot read is an error naming the line.

import fs from 'node:fs';
import { canonicalName } from './markers.js';
import { RequirementError, parseRequirement, type Requirement } from './requirements.js';

type Toml = string | number | boolean | Toml[] | { [key: string]: Toml };
type Table = { [key: string]: Toml };

export class TomlError extends Error {}

export function parseToml(text: string): Table {
  const root: Table = {};
  let table = root;
  let i = 0;
  const line = () => text.slice(0, i).split('\n').length;
  const fail = (why: string): never => {
    throw new TomlError(`line ${line()}: ${why}`);
  };
  const ws = () => {
    while (i < text.length) {
      if (text[i] === ' ' || text[i] === '\t') i++;
      else if (text[i] === '#') while (i < text.length && text[i] !== '\n') i++;
      else break;
    }
  };
  const wsNl = () => {
    for (;;) {
      ws();
      if (text[i] === '\n' || text[i] === '\r') i++;
      else break;
    }
  };
  const ESC: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' };
  const str = (): string => {
    const multi = text.startsWith('"""', i) || text.startsWith("'''", i);
    const q = text[i]!;
    const close = multi ? q.repeat(3) : q;
    i += close.length;
    if (multi && text[i] === '\n') i++;
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      if (text.startsWith(close, i)) {
        // up to two quotes right before the closing three belong to the string
        if (multi && text[i + 3] === q) {
          out += q;
          i++;
          continue;
        }
        i += close.length;
        return out;
      }
      const c = text[i]!;
      if (!multi && c === '\n') fail('newline in a string');
      if (q === '"' && c === '\\') {
        const e = text[i + 1]!;
        if (ESC[e]) {
          out += ESC[e];
          i += 2;
        } else if (e === 'u' || e === 'U') {
          const n = e === 'u' ? 4 : 8;
          out += String.fromCodePoint(parseInt(text.slice(i + 2, i + 2 + n), 16));
          i += 2 + n;
        } else if (multi && /\s/.test(e)) {
          i++;
          while (/\s/.test(text[i] ?? '')) i++;
        } else fail(`bad escape \\${e}`);
        continue;
      }
      out += c;
      i++;
    }
  };
  const key = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      ws();
      if (text[i] === '"' || text[i] === "'") parts.push(str());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(text.slice(i)) ?? fail('expected a key');
        parts.push(m[0]);
        i += m[0].length;
      }
      ws();
      if (text[i] !== '.') return parts;
      i++;
    }
  };
  const value = (): Toml => {
    const c = text[i];
    if (c === '"' || c === "'") return str();
    if (c === '[') {
      i++;
      const arr: Toml[] = [];
      for (;;) {
        wsNl();
        if (text[i] === ']') {
          i++;
          return arr;
        }
        arr.push(value());
        wsNl();
        if (text[i] === ',') i++;
        else if (text[i] !== ']') fail("expected ',' or ']' in an array");
      }
    }
    if (c === '{') {
      i++;
      const t: Table = {};
      ws();
      if (text[i] === '}') {
        i++;
        return t;
      }
      for (;;) {
        const k = key();
        if (text[i++] !== '=') fail("expected '='");
        ws();
        put(t, k, value());
        ws();
        if (text[i] === '}') {
          i++;
          return t;
        }
        if (text[i++] !== ',') fail("expected ',' or '}' in an inline table");
      }
    }
    const m = /^[^\s,\]}#]+(?: \d\d:\d\d[^\s,\]}#]*)?/.exec(text.slice(i)) ?? fail('expected a value');
    i += m[0].length;
    if (m[0] === 'true' || m[0] === 'false') return m[0] === 'true';
    const n = Number(m[0].replaceAll('_', ''));
    return Number.isNaN(n) ? m[0] : n;
  };
  const put = (t: Table, k: string[], v: Toml) => {
    let at = t;
    for (const part of k.slice(0, -1)) at = (at[part] ??= {}) as Table;
    at[k.at(-1)!] = v;
  };
  for (;;) {
    wsNl();
    if (i >= text.length) return root;
    if (text[i] === '[') {
      const array = text[i + 1] === '[';
      i += array ? 2 : 1;
      const k = key();
      if (text[i] !== ']' || (array && text[i + 1] !== ']')) fail('expected ] after a table name');
      i += array ? 2 : 1;
      let at = root;
      for (const part of k.slice(0, -1)) {
        const next = (at[part] ??= {}) as Table | Table[];
        at = Array.isArray(next) ? next.at(-1)! : next;
      }
      const last = k.at(-1)!;
      if (array) {
        const list = (at[last] ??= []) as Table[];
        list.push({});
        table = list.at(-1)!;
      } else table = (at[last] ??= {}) as Table;
    } else {
      const k = key();
      if (text[i++] !== '=') fail("expected '=' after a key");
      ws();
      put(table, k, value());
    }
    ws();
    if (i < text.length && text[i] !== '\n' && text[i] !== '\r') fail('expected the end of the line');
  }
}

/** [project] dependencies, and those of the `extras` asked for (optional-dependencies). */
export function readPyproject(file: string, extras: string[] = []): Requirement[] {
  let doc: Table;
  try {
    doc = parseToml(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new RequirementError(`${file}: ${e instanceof TomlError ? e.message : (e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const project = doc.project as Table | undefined;
  if (!project) throw new RequirementError(`${file}: no [project] table (PEP 621) to read dependencies from`);
  const dynamic = (project.dynamic as string[] | undefined) ?? [];
  if (dynamic.includes('dependencies')) throw new RequirementError(`${file}: dependencies are dynamic (computed by the build backend); list them in a requirements file`);
  const reqs = ((project.dependencies as string[] | undefined) ?? []).map((d, n) => parseRequirement(d, `${file} [project] dependencies[${n}]`));
  const optional = (project['optional-dependencies'] as Record<string, string[]> | undefined) ?? {};
  const byKey = new Map(Object.entries(optional).map(([k, v]) => [canonicalName(k), v]));
  for (const extra of extras) {
    const list = byKey.get(canonicalName(extra));
    if (!list) throw new RequirementError(`${file}: no optional-dependencies named '${extra}' (has: ${[...byKey.keys()].join(', ') || 'none'})`);
    reqs.push(...list.map((d, n) => parseRequirement(d, `${file} optional-dependencies.${extra}[${n}]`)));
  }
  return reqs;
}
