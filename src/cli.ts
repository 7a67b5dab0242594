// nicorn-py's command line: argv and GUNICORN_CMD_ARGS become Settings,
// then the arbiter takes over.

import { Command, Option } from 'commander';
import { runArbiter } from './arbiter/arbiter.js';
import { registry, type SettingName } from './config/registry.js';
import { ConfigError, resolveSettings, shellSplit, type RawSettings } from './config/settings.js';
import { VERSION } from './version.js';

function buildProgram(): { program: Command; attr: Map<string, SettingName> } {
  const program = new Command('nicorn-py')
    .usage('[OPTIONS] [APP_MODULE]')
    .description('Gunicorn for Node hosts: serve a Python WSGI app with pre-forked Pyodide workers.')
    .argument('[APP_MODULE]', 'the WSGI app, as MODULE:VARIABLE (e.g. myapp.wsgi:app)')
    .version(`nicorn-py (version ${VERSION})`, '-v, --version')
    .helpOption('-h, --help')
    .allowExcessArguments(false)
    .exitOverride();
  const attr = new Map<string, SettingName>();
  for (const [name, s] of Object.entries(registry) as [SettingName, (typeof registry)[SettingName]][]) {
    const opt = new Option(`${s.flags.join(', ')}${s.meta ? ` <${s.meta}>` : ''}`, s.desc).helpGroup(`${s.section}:`);
    if (s.repeatable) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    program.addOption(opt);
    attr.set(opt.attributeName(), name);
  }
  return { program, attr };
}

function parse(argv: string[], from: string): RawSettings {
  const { program, attr } = buildProgram();
  program.configureOutput({ writeErr: (s) => process.stderr.write(from === 'argv' ? s : `${from}: ${s}`) });
  program.parse(argv, { from: 'user' });
  const raw: RawSettings = {};
  for (const [key, value] of Object.entries(program.opts())) {
    const name = attr.get(key);
    if (name && value !== undefined) raw[name] = value;
  }
  if (program.args[0]) raw.wsgi_app = program.args[0];
  return raw;
}

export async function main(argv: string[]): Promise<number> {
  let layers: RawSettings[];
  try {
    const envArgs = process.env.GUNICORN_CMD_ARGS ? shellSplit(process.env.GUNICORN_CMD_ARGS) : [];
    layers = [parse(envArgs, 'GUNICORN_CMD_ARGS'), parse(argv, 'argv')];
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode;
    if (typeof code === 'number') return code;
    process.stderr.write(`Error: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    return await runArbiter(resolveSettings(...layers));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`Error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
