// The config file, as Gunicorn reads it: executed as Python (by the arbiter's
// config interpreter), its module-level names that are settings become a layer
// of settings; the interpreter stays to run the arbiter-side hooks.

import fs from 'node:fs';
import path from 'node:path';
import { ConfigFileError, ConfigInterpreter, type ConfigSource } from './interpreter.js';
import { registry, type Settings } from './registry.js';
import { envPairs } from './validators.js';
import { appSpec } from './settings.js';
import { logConfigActive } from '../log/log-config.js';

export { ConfigFileError };

export interface ConfigSpec {
  /** A file path (-c PATH or ./gunicorn.conf.py), or null. */
  path: string | null;
  /** A module (-c python:pkg.module), or null. */
  module: string | null;
  chdir: string;
  pythonpath: string[];
  /** raw_env (-e KEY=VALUE): visible to the config file already. */
  env: Record<string, string>;
}

export interface ConfigFileResult {
  values: Record<string, unknown>;
  /** Names of the hooks the file defines (callable, right arity). */
  hooks: string[];
}

let interpreter: ConfigInterpreter | null = null;

/** The interpreter that read the config file; null when there was none. */
export function configInterpreter(): ConfigInterpreter | null {
  return interpreter;
}

function hookArities(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(registry)) {
    const arity = (s as { hookArity?: number }).hookArity;
    if (arity !== undefined) out[name] = arity;
  }
  return out;
}

export async function loadConfigFile(spec: ConfigSpec): Promise<ConfigFileResult> {
  let source: ConfigSource | null = null;
  if (spec.module) source = { path: null, module: spec.module };
  else if (spec.path) {
    const abs = path.resolve(spec.path);
    if (!fs.existsSync(abs)) throw new ConfigFileError(`Error: '${spec.path}' doesn't exist`);
    source = { path: fs.realpathSync(abs), module: null };
  }
  const { interpreter: interp, loaded } = await ConfigInterpreter.boot({
    source,
    chdir: spec.chdir,
    pythonpath: spec.pythonpath,
    env: spec.env,
    settingNames: [...Object.keys(registry), 'wsgi_app'],
    hookArities: hookArities(),
  });
  interpreter = interp;
  return loaded;
}

/**
 * The config interpreter, booted without a config file when the settings
 * carry a Python logging configuration (logconfig*, given on the command
 * line): the arbiter applies it there (src/log/log-config.ts).
 */
export async function interpreterFor(settings: Settings): Promise<ConfigInterpreter | null> {
  if (interpreter || !logConfigActive(settings)) return interpreter;
  interpreter = (
    await ConfigInterpreter.boot({
      source: null,
      chdir: settings.chdir,
      pythonpath: settings.pythonpath,
      env: envPairs(settings.raw_env),
      settingNames: [],
      hookArities: {},
    })
  ).interpreter;
  return interpreter;
}

/** --check-config: the app must import (in the config interpreter); 0 or 1. */
export async function checkApp(settings: Settings): Promise<number> {
  interpreter ??= (
    await ConfigInterpreter.boot({
      source: null,
      chdir: settings.chdir,
      pythonpath: settings.pythonpath,
      env: {},
      settingNames: [],
      hookArities: {},
    })
  ).interpreter;
  const tb = interpreter.checkApp(appSpec(settings));
  if (!tb) return 0;
  process.stderr.write(`\nError while loading the application:\n\n${tb}`);
  return 1;
}
