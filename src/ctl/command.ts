// `nicorn-py ctl`: Gunicorn 26.2.2's gunicornc (gunicorn/ctl/cli.py) for a
// nicorn-py arbiter, or a Gunicorn one: the same options (-s SOCKET,
// -c COMMAND, -j, -v), the same single-command and interactive modes, the
// same output and exit codes (0, 1 on an error, 130 on Ctrl-C).

import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { pyJson, type Json } from '../arbiter/control-protocol.js';
import { controlSocketDefault } from '../config/registry.js';
import { ConfigError, shellSplit } from '../config/settings.js';
import { VERSION } from '../version.js';
import { ControlClient, ControlClientError } from './client.js';
import { formatResponse } from './format.js';

const PROG = 'nicorn-py ctl';
const USAGE = `usage: ${PROG} [-h] [-s SOCKET] [-c COMMAND] [-j] [-v]`;

const HELP = `${USAGE}

Gunicorn control interface

options:
  -h, --help            show this help message and exit
  -s SOCKET, --socket SOCKET
                        Control socket path (default: auto-detected based on
                        XDG_RUNTIME_DIR or ~/.gunicorn/)
  -c COMMAND, --command COMMAND
                        Execute single command and exit
  -j, --json            Output raw JSON (for scripting)
  -v, --version         Show version and exit

Examples:
  ${PROG}                      # Interactive mode (default socket)
  ${PROG} -s /tmp/myapp.ctl    # Interactive mode with custom socket
  ${PROG} -c "show workers"    # Single command mode
  ${PROG} -c "worker add 2"    # Add 2 workers
  ${PROG} -c "show stats" -j   # Output stats as JSON
`;

/** parse_command: the command's words, then its arguments (from the first number or option-like word on). */
export function parseCommand(line: string): { command: string; args: string[] } {
  let parts: string[];
  try {
    parts = shellSplit(line);
  } catch (e) {
    if (e instanceof ConfigError) throw new ControlClientError('No closing quotation');
    throw e;
  }
  const words: string[] = [];
  const args: string[] = [];
  for (const part of parts) {
    if (args.length === 0 && !/^\d+$/.test(part) && !part.startsWith('-')) words.push(part);
    else args.push(part);
  }
  return { command: words.join(' '), args };
}

function render(command: string, result: Json, json: boolean): string {
  return json ? pyJson(result, 2) : formatResponse(command, result);
}

async function send(client: ControlClient, line: string, json: boolean): Promise<string> {
  const { command, args } = parseCommand(line);
  const full = args.length ? `${command} ${args.join(' ')}`.trim() : command;
  return render(command, await client.sendCommand(full), json);
}

async function runCommand(socketPath: string, line: string, json: boolean): Promise<number> {
  const client = new ControlClient(socketPath);
  try {
    await client.connect();
    process.stdout.write(`${await send(client, line, json)}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof ControlClientError)) throw e;
    process.stderr.write(`Error: ${e.message}\n`);
    return 1;
  } finally {
    client.close();
  }
}

async function runInteractive(socketPath: string, json: boolean): Promise<number> {
  const client = new ControlClient(socketPath);
  try {
    await client.connect();
  } catch (e) {
    if (!(e instanceof ControlClientError)) throw e;
    process.stderr.write(`Error: ${e.message}\n`);
    return 1;
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`Connected to ${socketPath}`);
  out("Type 'help' for available commands, 'quit' to exit.");
  out('');
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true });
  let code = 0;
  let interrupted = false;
  // Piped input ends before its last lines are answered, and the interface
  // closes then: Node 26's prompt() throws once it is closed (ERR_USE_AFTER_CLOSE), Node 20's did nothing.
  let closed = false;
  rl.on('close', () => (closed = true));
  const prompt = () => {
    if (!closed) rl.prompt();
  };
  rl.on('SIGINT', () => {
    interrupted = true;
    rl.close();
  });
  try {
    rl.setPrompt('nicorn-py> ');
    prompt();
    for await (const raw of rl) {
      const line = raw.trim();
      if (!line) {
        prompt();
        continue;
      }
      if (['quit', 'exit', 'q'].includes(line.toLowerCase())) break;
      try {
        out(await send(client, line, json));
      } catch (e) {
        if (!(e instanceof ControlClientError)) throw e;
        out(`Error: ${e.message}`);
        try {
          client.close();
          await client.connect();
        } catch (again) {
          if (!(again instanceof ControlClientError)) throw again;
          out('Connection lost. Exiting.');
          code = 1;
          break;
        }
      }
      out('');
      prompt();
    }
    // End of input: the prompt's line is ended, as input() at EOF leaves it.
    if (interrupted) {
      out('');
      code = 130;
    }
  } finally {
    if (!closed) rl.close();
    client.close();
  }
  return code;
}

export async function ctlMain(argv: string[]): Promise<number> {
  let values: { socket?: string; command?: string; json?: boolean; version?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        socket: { type: 'string', short: 's' },
        command: { type: 'string', short: 'c' },
        json: { type: 'boolean', short: 'j' },
        version: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (e) {
    // argparse's usage error: exit 2.
    process.stderr.write(`${USAGE}\n${PROG}: error: ${(e as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${PROG} (nicorn-py ${VERSION})\n`);
    return 0;
  }
  let socketPath = values.socket ?? controlSocketDefault();
  if (!path.isAbsolute(socketPath)) socketPath = path.join(process.cwd(), socketPath);
  if (values.command !== undefined) {
    try {
      return await runCommand(socketPath, values.command, values.json === true);
    } catch (e) {
      if (!(e instanceof ControlClientError)) throw e;
      process.stderr.write(`Error: ${e.message}\n`);
      return 1;
    }
  }
  return runInteractive(socketPath, values.json === true);
}
