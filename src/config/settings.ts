// Turns raw values from every source into validated Settings. Layers are
// given lowest first; Gunicorn's order is: defaults, the config file,
// GUNICORN_CMD_ARGS, the command line.

import fs from 'node:fs';
import path from 'node:path';
import { registry, settingNames, specOf, type SettingName, type Settings } from './registry.js';
import { ConfigError, SettingError, pyRepr, sameValue } from './validators.js';
import { servedWorkerClass } from './worker-classes.js';

export { ConfigError };

export type RawSettings = Partial<Record<SettingName, unknown>>;

/** The highest layer's raw value for NAME, or undefined. */
function rawValue(name: SettingName, layers: readonly RawSettings[]): unknown {
  let raw: unknown;
  for (const layer of layers) if (layer[name] !== undefined) raw = layer[name];
  return raw;
}

/**
 * One setting, validated: the highest layer's value, else the default.
 * An unsupported setting must keep its default.
 */
export function resolveOne<K extends SettingName>(name: K, layers: readonly RawSettings[]): Settings[K] {
  const s = specOf(name);
  const raw = rawValue(name, layers);
  let value: unknown;
  try {
    value = raw === undefined ? s.default() : s.validate(raw);
  } catch (e) {
    if (e instanceof SettingError) throw new ConfigError(`Invalid value for ${name}: ${pyRepr(raw)} (${e.message})`);
    throw e;
  }
  if (!s.supported && raw !== undefined && !sameValue(value, s.default())) {
    throw new ConfigError(`${name} is not supported by nicorn-py yet`);
  }
  return value as Settings[K];
}

export function resolveSettings(...layers: RawSettings[]): Settings {
  const out: Record<string, unknown> = {};
  for (const name of settingNames()) out[name] = resolveOne(name, layers);
  if (typeof out.paste === 'string') {
    out.paste = pasteUri(out.paste);
    pasteGlobalConf(out.raw_paste_global_conf as string[]); // a bad KEY=VALUE stops the start, not each worker's boot
  }
  else if (typeof out.wsgi_app !== 'string' || out.wsgi_app === '') throw new ConfigError('No application module specified.');
  // A report that would never be written is a mistake to say, not to ignore.
  if (out.check_wsgi_report && !out.check_wsgi) throw new ConfigError('check_wsgi_report needs check_wsgi (--check-wsgi)');
  // uwsgi over TLS (nginx's suwsgi://) is Gunicorn's too, but not served here: said, not ignored.
  if (out.protocol === 'uwsgi' && out.certfile) {
    throw new ConfigError('protocol uwsgi with certfile: nicorn-py serves the uwsgi protocol on plain sockets only');
  }
  // Gunicorn's uwsgi parser reads no PROXY header and takes the setting without a word.
  if (out.protocol === 'uwsgi' && out.proxy_protocol !== 'off') {
    throw new ConfigError('protocol uwsgi with proxy_protocol: a uwsgi connection carries no PROXY header (Gunicorn ignores it)');
  }
  // The class a worker runs depends on two settings (sync with threads > 1 is gthread): one that cannot run stops here.
  servedWorkerClass(out.worker_class as string, out.threads as number);
  checkProtocols(out.http_protocols as string[], out.http2_cleartext as string);
  return out as Settings;
}

/**
 * What node's http2 cannot serve is refused at start, not silently ignored:
 * HTTP/3 (QUIC), and cleartext HTTP/2 by `Upgrade: h2c` (only prior knowledge).
 */
function checkProtocols(protocols: readonly string[], cleartext: string): void {
  if (protocols.includes('h3')) {
    throw new ConfigError("http_protocols: h3 (HTTP/3 over QUIC) is not supported by nicorn-py (node's http2 serves h2 and h1)");
  }
  if (cleartext === 'upgrade' || cleartext === 'both') {
    throw new ConfigError(
      `http2_cleartext: ${cleartext} is not supported by nicorn-py (node's http2 has no HTTP/1.1 Upgrade: h2c); use prior-knowledge`,
    );
  }
}

/** Keeps the names that are settings, as Gunicorn ignores a config file's other names. */
export function knownSettings(values: Record<string, unknown>): RawSettings {
  const out: RawSettings = {};
  for (const [k, val] of Object.entries(values)) if (Object.hasOwn(registry, k)) out[k as SettingName] = val;
  return out;
}

/** Splits GUNICORN_CMD_ARGS the way a POSIX shell would (quotes, backslashes), as shlex.split does. */
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

/**
 * Gunicorn's cfg.proc_name (process titles, syslog prefix): -n/--name, else
 * default_proc_name, which is the APP_MODULE of the command line unless the
 * config file sets it (appLayer).
 */
export function procName(settings: Pick<Settings, 'proc_name' | 'default_proc_name'>): string {
  return settings.proc_name ?? settings.default_proc_name;
}

/**
 * What Gunicorn's WSGIApplication.init sets before the config file is read:
 * default_proc_name is the command line's APP_MODULE. A layer below the
 * config file's, which may set it again.
 */
export function appLayer(cli: RawSettings): RawSettings {
  if (typeof cli.paste === 'string') {
    // --paste: the config file names the process and, when it has a [loggers] section, configures logging.
    const file = pasteUri(cli.paste).split('#')[0]!;
    return { default_proc_name: file, ...(/^\[loggers\]/m.test(fs.readFileSync(file, 'utf8')) ? { logconfig: file } : {}) };
  }
  return typeof cli.wsgi_app === 'string' && cli.wsgi_app !== '' ? { default_proc_name: cli.wsgi_app } : {};
}

/** WSGIApplication.init: the --paste URI made absolute (from the directory nicorn-py started in); its file must exist. */
function pasteUri(paste: string): string {
  const uri = path.resolve(paste);
  const file = uri.split('#')[0]!;
  if (!fs.existsSync(file)) throw new ConfigError(`${pyRepr(file)} not found`);
  return uri;
}

/**
 * Config.paste_global_conf: each --paste-global KEY=VALUE split at its first
 * '=' not escaped as '\\=' (an escaped one is kept as '=' in key and value).
 */
export function pasteGlobalConf(raw: readonly string[]): Record<string, string> {
  const conf: Record<string, string> = {};
  for (const e of raw) {
    let at = e.indexOf('=');
    while (at > 0 && e[at - 1] === '\\') at = e.indexOf('=', at + 1);
    if (at < 0) throw new ConfigError(`Invalid value for raw_paste_global_conf: environment setting ${pyRepr(e)} invalid (KEY=VALUE)`);
    conf[e.slice(0, at).replaceAll('\\=', '=')] = e.slice(at + 1).replaceAll('\\=', '=');
  }
  return conf;
}

/**
 * What a worker imports as its app: APP_MODULE, or with --paste the
 * PasteDeploy loader (python/nicorn/pasteapp.py) called with the config URI
 * and the global conf, as an APP_MODULE factory call (Gunicorn's load_pasteapp).
 */
export function appSpec(settings: Pick<Settings, 'wsgi_app' | 'paste' | 'raw_paste_global_conf'>): string {
  if (settings.paste === null) return settings.wsgi_app!;
  return `nicorn.pasteapp:load(${pyRepr(settings.paste)}, ${pyRepr(pasteGlobalConf(settings.raw_paste_global_conf))})`;
}
