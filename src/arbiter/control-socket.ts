// The control socket (--control-socket, --control-socket-mode,
// --no-control-socket): a unix socket the arbiter serves for `gunicornc` and
// `nicorn-py ctl`, as Gunicorn 26.2.2's gunicorn/ctl/server.py serves it. The
// parent directory is made (0700) when missing, a file already at the path
// is replaced, the socket gets the mode, and "Control socket listening at
// PATH" is logged; a failure is "Control server error: ..." and the server
// runs on without it. Each connection sends requests one after another and
// is closed after 300 s without one, or at a malformed message.
//
// Gunicorn starts it after the first workers are spawned and stops it first
// when the arbiter halts; so does the arbiter here. The socket file is removed
// at stop only while it is still this server's (a USR2 successor may have
// bound the path again).

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ErrorLog } from '../log/error-log.js';
import { ConfigError, shellSplit } from '../config/settings.js';
import { CommandValueError, executeCommand, type ControlledArbiter } from './control-commands.js';
import { MessageReader, ProtocolError, PyFloat, encodeMessage, osErrorText, pyFloatText, type Json } from './control-protocol.js';

/** Gunicorn's 5-minute idle timeout per client. */
const IDLE_MS = 300_000;

export class ControlSocketServer {
  private server: net.Server | null = null;
  private readonly clients = new Set<net.Socket>();
  /** The socket file's inode once bound: removed at stop only if the path still names it. */
  private ino: number | null = null;
  private running = false;

  constructor(
    private readonly arbiter: ControlledArbiter,
    private readonly socketPath: string,
    private readonly mode: number,
    private readonly log: ErrorLog,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    try {
      const dir = path.dirname(this.socketPath);
      if (dir && !fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (fs.existsSync(this.socketPath)) fs.unlinkSync(this.socketPath);
    } catch (e) {
      this.log.error(`Control server error: ${osErrorText(e as NodeJS.ErrnoException, true)}`);
      return;
    }
    const server = net.createServer((sock) => this.serve(sock));
    this.server = server;
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (this.running) this.log.error(`Control server error: ${osErrorText(e)}`);
      this.server = null;
    });
    server.listen(this.socketPath, () => {
      try {
        fs.chmodSync(this.socketPath, this.mode);
        this.ino = fs.statSync(this.socketPath).ino;
      } catch (e) {
        this.log.error(`Control server error: ${osErrorText(e as NodeJS.ErrnoException, true)}`);
        this.stop();
        return;
      }
      this.log.info(`Control socket listening at ${this.socketPath}`);
    });
    // The arbiter's life is its workers and signals: an idle control socket does not hold it.
    server.unref();
  }

  /** Stops accepting, ends the connections (an answer being written still goes out) and removes the socket file. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.server?.close();
    this.server = null;
    for (const sock of this.clients) sock.end();
    this.clients.clear();
    try {
      if (this.ino !== null && fs.statSync(this.socketPath).ino === this.ino) fs.unlinkSync(this.socketPath);
    } catch {
      // already gone
    }
    this.ino = null;
  }

  private serve(sock: net.Socket): void {
    this.clients.add(sock);
    sock.once('close', () => this.clients.delete(sock));
    sock.on('error', (e) => this.log.debug(`Control client error: ${e.message}`));
    sock.setTimeout(IDLE_MS, () => sock.end());
    const reader = new MessageReader();
    // Answers go out in the order of the requests; some (the dirty commands) wait for the dirty arbiter.
    let answered = Promise.resolve();
    let ended = false;
    sock.on('data', (chunk: Buffer) => {
      let messages: Json[];
      try {
        messages = reader.push(chunk);
      } catch (e) {
        // A protocol error ends the client, as Gunicorn's loop breaks on it.
        if (!(e instanceof ProtocolError)) throw e;
        ended = true;
        sock.end();
        return;
      }
      for (const message of messages) {
        answered = answered.then(async () => {
          if (!this.running || sock.destroyed || ended) return;
          const answer = await this.dispatch(message);
          if (ended || sock.destroyed) return;
          if (answer === null) {
            ended = true;
            sock.end();
            return;
          }
          sock.write(encodeMessage(answer));
        });
      }
    });
  }

  /** ControlSocketServer._dispatch: the answer, or null when the message is not one (the client is dropped). */
  private async dispatch(message: Json): Promise<Json | null> {
    if (message === null || typeof message !== 'object' || Array.isArray(message) || message instanceof PyFloat) return null;
    const m = message as { [key: string]: Json };
    const id = m.id ?? 0;
    const rawCommand = m.command ?? '';
    if (typeof rawCommand !== 'string') {
      this.log.debug('Control client error: the command is not a string');
      return null;
    }
    const command = rawCommand.trim();
    const error = (text: string): Json => ({ id, status: 'error', error: text });
    if (!command) return error('Empty command');
    try {
      let parts: string[];
      try {
        parts = shellSplit(command);
      } catch (e) {
        if (e instanceof ConfigError) throw new CommandValueError('No closing quotation');
        throw e;
      }
      const args = m.args;
      if (Array.isArray(args)) parts.push(...args.map(pyStrOf));
      else if (typeof args === 'string') parts.push(...args);
      if (parts.length === 0) return error('Empty command');
      return { id, status: 'ok', data: await executeCommand(this.arbiter, parts) };
    } catch (e) {
      if (e instanceof CommandValueError) return error(`Invalid argument: ${e.message}`);
      this.log.exception(`Command error\n${(e as Error).stack ?? String(e)}`);
      return error(`Command failed: ${(e as Error).message}`);
    }
  }
}

/** Python's str() of a JSON value in a request's args. */
function pyStrOf(v: Json): string {
  if (typeof v === 'string') return v;
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (v instanceof PyFloat) return pyFloatText(v.value);
  return JSON.stringify(v);
}
