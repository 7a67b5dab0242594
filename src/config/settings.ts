// Turns raw values from every source into validated Settings. Precedence,
// lowest first: defaults, GUNICORN_CMD_ARGS, the command line.

import { registry, type SettingName, type Settings } from './registry.js';
import { SettingError } from './validators.js';

export type RawSettings = Partial<Record<SettingName | 'wsgi_app', unknown>>;

export class ConfigError extends Error {}

export function resolveSettings(...layers: RawSettings[]): Settings {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(registry) as SettingName[]) {
    const s = registry[name];
    let raw: unknown;
    for (const layer of layers) if (layer[name] !== undefined) raw = layer[name];
    try {
      out[name] = raw === undefined ? s.default() : s.validate(raw);
    } catch (e) {
      if (e instanceof SettingError) throw new ConfigError(`Invalid value for ${name}: ${e.message}`);
      throw e;
    }
  }
  let app: unknown;
  for (const layer of layers) if (layer.wsgi_app !== undefined) app = layer.wsgi_app;
  if (typeof app !== 'string' || app === '') throw new ConfigError('No application module specified.');
  out.wsgi_app = app;
  return out as Settings;
}

/** Splits GUNICORN_CMD_ARGS the way a POSIX shell would (quotes, backslashes). */
export function shellSplit(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1]!)) cur += s[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new ConfigError(`GUNICORN_CMD_ARGS: unterminated ${quote} quote`);
  if (inWord) out.push(cur);
  return out;
}
