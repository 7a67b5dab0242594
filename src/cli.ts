// nicorn-py's command line, Gunicorn's way: the command line and
// GUNICORN_CMD_ARGS are parsed, the config file (-c, or ./gunicorn.conf.py)
// is read, and the layers become Settings (defaults < config file <
// GUNICORN_CMD_ARGS < command line); then the arbiter takes over, unless
// --print-config or --check-config asked for something else.

import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Command, CommanderError, Option } from 'commander';
import { runArbiter } from './arbiter/arbiter.js';
import { daemonStdio } from './log/error-log.js';
import { ConfigFileError, checkApp, interpreterFor, loadConfigFile } from './config/config-file.js';
import { renderConfig } from './config/print-config.js';
import { bySection, metaOf, registry, shortDesc, specOf, takesValue, type SettingName, type Settings } from './config/registry.js';
import { ConfigError, appLayer, knownSettings, resolveOne, resolveSettings, shellSplit, type RawSettings } from './config/settings.js';
import { envPairs, pyRepr, pyStr } from './config/validators.js';
import { targetPython } from './install/environment.js';
import { VERSION } from './version.js';
import { checkTlsFiles } from './worker/front-door/tls.js';

const PROG = 'nicorn-py';
const USAGE = '[OPTIONS] [APP_MODULE]';

/** Gunicorn's "gunicorn (version X)", and the Pyodide and Python the workers run. */
export function versionLine(): string {
  const py = targetPython();
  return `${PROG} (version ${VERSION}), Pyodide ${py.pyodideVersion}, Python ${py.pythonFullVersion}`;
}

/** The --help line: Gunicorn's "short description [default]". */
function helpText(name: SettingName): string {
  const s = specOf(name);
  let shown: string;
  try {
    const d = s.default();
    shown = s.show ? s.show(d) : pyStr(d);
  } catch {
    shown = s.defaultDoc;
  }
  return `${shortDesc(s.desc)} [${shown}]${s.supported ? '' : ' (not supported yet)'}`;
}

/** Commander's "error: ..." as argparse prints a usage error. */
function usageError(message: string, source: string): string {
  const text = message.replace(/^error: /, '');
  return `usage: ${PROG} ${USAGE}\n${PROG}: error: ${source === 'argv' ? '' : `${source}: `}${text}`;
}

function buildProgram(source: string): { program: Command; settingOf: Map<Option, SettingName> } {
  const program = new Command(PROG)
    .usage(USAGE)
    .description(
      "Gunicorn for Node hosts: serve a Python WSGI app with pre-forked Pyodide workers.\n" +
        "Install the app's Python packages with `nicorn-py install` (see nicorn-py install --help).\n" +
        'Talk to a running server through its control socket with `nicorn-py ctl` (as gunicornc).',
    )
    .argument('[APP_MODULE]', 'the WSGI app, as MODULE:VARIABLE (e.g. myapp.wsgi:app)')
    .version(versionLine(), '-v, --version', "show program's version number and exit")
    .helpOption('-h, --help', 'show this help message and exit')
    .allowExcessArguments(false)
    .showSuggestionAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(usageError(str, source)) });
  const settingOf = new Map<Option, SettingName>();
  for (const [section, names] of bySection()) {
    for (const name of names) {
      const s = specOf(name);
      if (s.flags.length === 0) continue;
      const value = s.optionalValue ? ` [${metaOf(name)}]` : ` <${metaOf(name)}>`;
      const flags = `${s.flags.join(', ')}${takesValue(s) ? value : ''}`;
      const opt = new Option(flags, helpText(name)).helpGroup(`${section}:`);
      if (s.action === 'append') opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
      // argparse's --no-X is a flag of its own: commander would take it for the negation of
      // --X and share one value between the two (--no-control-socket and --control-socket PATH).
      if (opt.negate) {
        opt.negate = false;
        const attribute = opt.name().replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
        opt.attributeName = () => attribute;
      }
      program.addOption(opt);
      settingOf.set(opt, name);
    }
  }
  return { program, settingOf };
}

/** One source of flags (the command line, or GUNICORN_CMD_ARGS) as a layer of raw settings. */
function parse(args: string[], source: string): RawSettings {
  const { program, settingOf } = buildProgram(source);
  program.parse(args, { from: 'user' });
  const raw: RawSettings = {};
  for (const [opt, name] of settingOf) {
    const key = opt.attributeName();
    if (program.getOptionValueSource(key) !== 'cli') continue;
    const s = specOf(name);
    const value = program.getOptionValue(key) as unknown;
    raw[name] =
      s.action === 'store_true' ? true : s.action === 'store_false' ? false : s.action === 'store_const' ? s.const : value;
    // argparse's nargs='?': the flag alone stores its const (commander gives true).
    if (s.optionalValue && value === true) raw[name] = s.const;
  }
  if (program.args[0] !== undefined) raw.wsgi_app = program.args[0];
  return raw;
}

/** Where the config file comes from: -c on the command line, else in GUNICORN_CMD_ARGS, else ./gunicorn.conf.py. */
function configSource(env: RawSettings, cli: RawSettings): { path: string | null; module: string | null } | null {
  const given = [cli, env].map((l) => (l.config === undefined ? '' : resolveOne('config', [l]))).find(Boolean);
  if (!given) {
    // Gunicorn's get_default_config_file: the directory it was started in.
    const file = path.join(process.cwd(), 'gunicorn.conf.py');
    return fs.existsSync(file) ? { path: file, module: null } : null;
  }
  if (given.startsWith('python:')) return { path: null, module: given.slice('python:'.length) };
  const file = given.startsWith('file:') ? given.slice('file:'.length) : given;
  if (!fs.existsSync(path.resolve(file))) throw new ConfigError(`${pyRepr(file)} doesn't exist`);
  return { path: file, module: null };
}

/** The config file's settings as a layer; its hooks are set to true. */
async function readConfigFile(env: RawSettings, cli: RawSettings): Promise<RawSettings> {
  const source = configSource(env, cli);
  if (!source) return {};
  const layers = [env, cli];
  const result = await loadConfigFile({
    ...source,
    chdir: resolveOne('chdir', layers),
    pythonpath: resolveOne('pythonpath', layers),
    env: envPairs(resolveOne('raw_env', layers)),
  });
  const layer = knownSettings(result.values);
  for (const hook of result.hooks) {
    if (Object.hasOwn(registry, hook) && specOf(hook as SettingName).hookArity !== undefined) layer[hook as SettingName] = true;
  }
  return layer;
}

/** -D: the arbiter carries on detached, its stdio on /dev/null, as Gunicorn's daemonize(). */
function daemonize(argv: string[], enableStdioInheritance: boolean): number {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv], {
    detached: true,
    stdio: daemonStdio(enableStdioInheritance),
    env: { ...process.env, NICORN_DAEMON: '1' },
  });
  child.unref();
  return 0;
}

/** Relative certificate paths are found from --chdir, where Gunicorn's arbiter is when it checks them. */
function tlsFilesInChdir(settings: Settings): void {
  for (const name of ['certfile', 'keyfile', 'ca_certs'] as const) {
    const file = settings[name];
    if (file) settings[name] = path.resolve(settings.chdir, file);
  }
  checkTlsFiles(settings);
}

export async function main(argv: string[]): Promise<number> {
  // `nicorn-py install ...` installs the app's packages; only as the first word, so
  // `nicorn-py -w 2 install` still serves a module named install (as does install:application).
  if (argv[0] === 'install') return (await import('./install/command.js')).installMain(argv.slice(1));
  // `nicorn-py ctl ...`: Gunicorn's gunicornc, for the control socket (src/ctl/).
  if (argv[0] === 'ctl') return (await import('./ctl/command.js')).ctlMain(argv.slice(1));
  let env: RawSettings;
  let cli: RawSettings;
  try {
    // argparse order: the command line first, then GUNICORN_CMD_ARGS.
    cli = parse(argv, 'argv');
    env = parse(shellSplit(process.env.GUNICORN_CMD_ARGS ?? ''), 'GUNICORN_CMD_ARGS');
  } catch (e) {
    if (e instanceof CommanderError) {
      const done = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help';
      return done ? e.exitCode : 2;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`Error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  try {
    // Every value given as a flag is checked before the (slower) config file is read.
    for (const name of new Set([...Object.keys(env), ...Object.keys(cli)]) as Set<SettingName>) resolveOne(name, [env, cli]);
    const file = await readConfigFile(env, cli);
    const settings = resolveSettings(appLayer(cli), file, env, cli);
    if (settings.print_config) {
      process.stdout.write(`${renderConfig(settings)}\n`);
      if (!settings.check_config) return 0;
    }
    if (settings.check_config) return await checkApp(settings);
    tlsFilesInChdir(settings);
    if (settings.daemon && !process.env.NICORN_DAEMON) return daemonize(argv, settings.enable_stdio_inheritance);
    // raw_env: set in the arbiter before any worker is forked, so the app sees it.
    Object.assign(process.env, envPairs(settings.raw_env));
    // HUP reads the config file again; the command line and GUNICORN_CMD_ARGS stay.
    const reloader = async () => {
      const next = resolveSettings(appLayer(cli), await readConfigFile(env, cli), env, cli);
      tlsFilesInChdir(next);
      Object.assign(process.env, envPairs(next.raw_env));
      return { settings: next, config: await interpreterFor(next) };
    };
    return await runArbiter(settings, await interpreterFor(settings), reloader);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`Error: ${e.message}\n`);
      return 1;
    }
    if (e instanceof ConfigFileError) {
      process.stderr.write(e.message.endsWith('\n') ? e.message : `${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
