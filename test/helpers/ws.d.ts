// The part of the `ws` package (a devDependency: the WebSocket client the
// asgi tests drive) the tests use; the package ships no types of its own.
declare module 'ws' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage } from 'node:http';

  /** `ca`: the certificates a wss:// client trusts (passed on to tls.connect). */
  export interface ClientOptions {
    headers?: Record<string, string>;
    maxPayload?: number;
    ca?: Buffer;
  }

  export default class WebSocket extends EventEmitter {
    constructor(url: string, protocols?: string | string[], options?: ClientOptions);
    readonly protocol: string;
    readonly readyState: number;
    send(data: string | Buffer, options?: { binary?: boolean; fin?: boolean }, cb?: (err?: Error) => void): void;
    ping(data?: string | Buffer): void;
    close(code?: number, reason?: string): void;
    terminate(): void;
    on(event: 'open', listener: () => void): this;
    on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
    on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
    on(event: 'pong', listener: (data: Buffer) => void): this;
    on(event: 'upgrade', listener: (res: IncomingMessage) => void): this;
    on(event: 'unexpected-response', listener: (req: unknown, res: IncomingMessage) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    once(event: string, listener: (...args: any[]) => void): this;
  }
}
