// The control socket's client, as Gunicorn 26.2.2's gunicorn/ctl/client.py:
// one connection, requests numbered from 1, each answered before the next.
// Its errors carry gunicornc's texts ("Failed to connect to PATH: [Errno 2]
// No such file or directory", "Communication error: Connection closed").

import net from 'node:net';
import { MessageReader, ProtocolError, encodeMessage, osErrorText, type Json } from '../arbiter/control-protocol.js';

export class ControlClientError extends Error {}

/** ControlClient's default timeout: 30 s for the connection and for each answer. */
const TIMEOUT_MS = 30_000;

export class ControlClient {
  private sock: net.Socket | null = null;
  private requestId = 0;
  private reader = new MessageReader();
  /** Answers that arrived, and the waiter of the next one. */
  private readonly inbox: Json[] = [];
  private waiter: ((m: Json | Error) => void) | null = null;

  constructor(readonly socketPath: string) {}

  async connect(): Promise<void> {
    if (this.sock) return;
    const sock = net.connect(this.socketPath);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(Object.assign(new Error('timed out'), {})), TIMEOUT_MS);
        sock.once('connect', () => {
          clearTimeout(timer);
          resolve();
        });
        sock.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
    } catch (e) {
      sock.destroy();
      throw new ControlClientError(`Failed to connect to ${this.socketPath}: ${osErrorText(e as NodeJS.ErrnoException)}`);
    }
    this.sock = sock;
    this.reader = new MessageReader();
    sock.on('data', (chunk: Buffer) => {
      try {
        for (const m of this.reader.push(chunk)) this.deliver(m);
      } catch (e) {
        this.deliver(e instanceof Error ? e : new Error(String(e)));
      }
    });
    sock.on('error', (e) => this.deliver(new Error(osErrorText(e as NodeJS.ErrnoException))));
    sock.on('close', () => {
      // read_message's words for a close before a whole answer.
      this.deliver(new ProtocolError(this.reader.partial ? 'Incomplete payload' : 'Connection closed'));
    });
  }

  private deliver(m: Json | Error): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w(m);
    } else if (!(m instanceof Error)) this.inbox.push(m);
  }

  close(): void {
    this.sock?.destroy();
    this.sock = null;
  }

  /** Sends a command; resolves with its answer's data, or throws ControlClientError with the server's error. */
  async sendCommand(command: string, args: Json[] = []): Promise<Json> {
    if (!this.sock) await this.connect();
    const sock = this.sock!;
    this.requestId += 1;
    let answer: Json | Error;
    try {
      sock.write(encodeMessage({ id: this.requestId, command, args }));
      answer =
        this.inbox.shift() ??
        (await new Promise<Json | Error>((resolve) => {
          const timer = setTimeout(() => resolve(new Error('timed out')), TIMEOUT_MS);
          this.waiter = (m) => {
            clearTimeout(timer);
            resolve(m);
          };
        }));
    } catch (e) {
      answer = e as Error;
    }
    if (answer instanceof Error) {
      this.close();
      throw new ControlClientError(`Communication error: ${answer.message}`);
    }
    const r = answer !== null && typeof answer === 'object' && !Array.isArray(answer) ? (answer as { [k: string]: Json }) : {};
    if (r.status === 'error') throw new ControlClientError(typeof r.error === 'string' ? r.error : 'Unknown error');
    return r.data ?? {};
  }
}
