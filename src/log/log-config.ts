// logconfig, logconfig_dict, logconfig_json: the user's Python logging
// configuration, applied as Gunicorn applies it (python/nicorn/logconfig.py).
//
// Why this design: under Gunicorn every line of the error and access logs is
// a record of Python's gunicorn.error or gunicorn.access, so the handlers,
// formatters (a JSON formatter from the user's code) and levels the user
// configures decide about all of them. nicorn-py writes most of its lines
// from Node (the arbiter, each worker's I/O thread, the access lines), so
// with a log configuration those lines become Python records too:
// - a worker's Python thread applies the configuration itself (before the
//   app is imported, as Gunicorn's master does before the fork), so the
//   app's records and the tracebacks of failed requests, with whatever
//   `extra` fields the app adds, meet the user's handlers in that process;
// - every line Node writes goes to the arbiter's config interpreter, which
//   applies the configuration too (booted for it when there is no config
//   file) and emits each line as a record with the pid of the process that
//   wrote it: the arbiter's own lines directly, a worker's I/O-thread lines
//   and its access lines (Gunicorn's atoms, as record.args) over the IPC
//   channel. A worker's Python thread cannot take them: it is busy in the
//   app, or blocked waiting for a request, and a message cannot reach it.
// The cost is one IPC message and one Python call in the arbiter per
// request, paid only with a log configuration; without one nothing changes.

import type { Settings } from '../config/registry.js';
import type { WorkerMessage } from '../worker/messages.js';
import { accessAtoms } from './access-log.js';
import type { AccessSink } from './access-record.js';
import type { ErrorLog } from './error-log.js';

export const LOG_CONFIG_SETTINGS = ['logconfig', 'logconfig_dict', 'logconfig_json'] as const;
export type LogConfigSettings = Pick<Settings, (typeof LOG_CONFIG_SETTINGS)[number]>;

export function logConfigOf(settings: Settings): LogConfigSettings {
  return { logconfig: settings.logconfig, logconfig_dict: settings.logconfig_dict, logconfig_json: settings.logconfig_json };
}

/** Whether the settings carry a Python logging configuration. */
export function logConfigActive(settings: LogConfigSettings): boolean {
  return Boolean(settings.logconfig || settings.logconfig_json || Object.keys(settings.logconfig_dict ?? {}).length > 0);
}

function send(m: WorkerMessage): boolean {
  if (!process.send || !process.connected) return false;
  try {
    return process.send(m);
  } catch {
    return false;
  }
}

/** In a worker's I/O thread: its error-log lines go to the arbiter, which emits them as gunicorn.error records. */
export function routeLinesToArbiter(log: ErrorLog, settings: Settings): void {
  if (!logConfigActive(settings)) return;
  log.route = (level, message) => send({ kind: 'log', level, message });
}

/**
 * In a worker's I/O thread: the access sink that hands each request's atoms
 * to the arbiter (Gunicorn logs access lines whenever a log configuration
 * exists, access log file or not); null without a log configuration.
 */
export function arbiterAccessSink(settings: Settings): AccessSink | null {
  if (!logConfigActive(settings)) return null;
  return (r) => {
    send({ kind: 'access', atoms: Object.fromEntries(accessAtoms(r, process.pid)) });
  };
}
