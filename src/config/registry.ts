// Every setting is declared once, here, as in Gunicorn's config.py: its name,
// section, flags, validator, default and description. The CLI, --help and
// GUNICORN_CMD_ARGS are derived from this table.

import process from 'node:process';
import { LOG_LEVELS } from '../log/error-log.js';
import { SettingError, commaList, oneOf, posInt, string, stringList } from './validators.js';

export interface SettingSpec<T> {
  section: string;
  /** Command-line flags, short first, as Gunicorn spells them. */
  flags: readonly string[];
  /** Placeholder in --help; absent for switches. */
  meta?: string;
  /** A repeatable flag collects every occurrence. */
  repeatable?: boolean;
  validate: (raw: unknown) => T;
  default: () => T;
  desc: string;
}

function atLeastOne(raw: unknown): number {
  const n = posInt(raw);
  if (n < 1) throw new SettingError(`${JSON.stringify(raw)} must be at least 1`);
  return n;
}

const spec = <T>(s: SettingSpec<T>): SettingSpec<T> => s;

export const WORKER_CLASSES = ['sync'] as const;

export const registry = {
  bind: spec({
    section: 'Server Socket',
    flags: ['-b', '--bind'],
    meta: 'ADDRESS',
    repeatable: true,
    validate: stringList,
    default: () => ['127.0.0.1:8000'],
    desc: 'The socket to bind: HOST:PORT or [IPv6]:PORT. Repeat to bind several.',
  }),
  workers: spec({
    section: 'Worker Processes',
    flags: ['-w', '--workers'],
    meta: 'INT',
    validate: atLeastOne,
    default: () => (process.env.WEB_CONCURRENCY ? atLeastOne(process.env.WEB_CONCURRENCY) : 1),
    desc: 'The number of worker processes for handling requests ($WEB_CONCURRENCY, else 1).',
  }),
  worker_class: spec({
    section: 'Worker Processes',
    flags: ['-k', '--worker-class'],
    meta: 'STRING',
    validate: (raw) => {
      const s = string(raw);
      if (s !== 'sync') throw new SettingError(`worker_class ${JSON.stringify(s)} is not supported by nicorn-py yet`);
      return s;
    },
    default: () => 'sync',
    desc: 'The type of workers to use. Only "sync" (one request at a time per worker) exists.',
  }),
  keepalive: spec({
    section: 'Worker Processes',
    flags: ['--keep-alive'],
    meta: 'INT',
    validate: posInt,
    default: () => 2,
    desc: 'The number of seconds to wait for requests on a Keep-Alive connection (0 disables keep-alive).',
  }),
  chdir: spec({
    section: 'Server Mechanics',
    flags: ['--chdir'],
    meta: 'CHDIR',
    validate: string,
    default: () => process.cwd(),
    desc: 'Change directory to the specified directory before loading apps.',
  }),
  pythonpath: spec({
    section: 'Server Mechanics',
    flags: ['--pythonpath'],
    meta: 'STRING',
    validate: commaList,
    default: () => [],
    desc: "A comma-separated list of directories to add to the Python path, e.g. '/home/djangoprojects/myproject'.",
  }),
  loglevel: spec({
    section: 'Logging',
    flags: ['--log-level'],
    meta: 'LEVEL',
    validate: oneOf(LOG_LEVELS),
    default: () => 'info' as const,
    desc: 'The granularity of Error log outputs: debug, info, warning, error, critical.',
  }),
};

export type SettingName = keyof typeof registry;
export type Settings = { -readonly [K in SettingName]: ReturnType<(typeof registry)[K]['validate']> } & {
  /** The WSGI application, MODULE[:VARIABLE] or MODULE:factory(...). */
  wsgi_app: string;
};
