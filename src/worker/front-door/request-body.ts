// A request body read by the I/O thread before Python sees the request, so a
// slow uploader costs a socket and a buffer, not the Python thread (Gunicorn's
// sync worker reads it inside the app, and one slow client stalls the worker).
//
// Policy:
// - up to BODY_IN_MEMORY bytes stay in memory;
// - past that, the rest goes to a spool file in tmp_upload_dir (the system's
//   temporary directory by default), unlinked as soon as it is opened;
// - a body over BODY_SPOOL_LIMIT (a Content-Length that says so, or a chunked
//   body that grows past it) is streamed: the request goes to Python at that
//   point and wsgi.input reads what was kept, then the rest as it arrives
//   (the only case in which a slow client holds the Python thread, as in Gunicorn).
// An app therefore sees a body once it is complete; one that wants it as it
// arrives gets that only past the spool limit.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

/**
 * Bytes of one body kept in memory: most form posts and JSON bodies fit, and
 * 1,000 slow uploaders (worker_connections) cost 64 MiB at most.
 */
export const BODY_IN_MEMORY = 64 * 1024;
/** Bytes of one body spooled to disk before the rest is streamed to the app as it arrives. */
export const BODY_SPOOL_LIMIT = 64 * 1024 * 1024;
/** The spool's writes in flight after which the client is no longer read until they land. */
const SPOOL_HIGH_WATER = 1 << 20;

export interface BodyLimits {
  inMemory: number;
  spool: number;
  /** tmp_upload_dir; null: the system's temporary directory. */
  dir: string | null;
}

export const DEFAULT_BODY_LIMITS: Omit<BodyLimits, 'dir'> = { inMemory: BODY_IN_MEMORY, spool: BODY_SPOOL_LIMIT };

/** What became of a body being read: all of it is kept, or the request must go on while it arrives. */
export type BodyOutcome = 'complete' | 'streaming';

let spoolSeq = 0;

export class RequestBody {
  private readonly memory: Buffer[] = [];
  private inMemory = 0;
  private spool: fs.FileHandle | null = null;
  private spooled = 0;
  /** The spool's writes, in order. */
  private writes: Promise<unknown> = Promise.resolve();
  private pendingWrites = 0;
  private failed: Error | null = null;
  private discarded = false;
  private outcome: BodyOutcome | null = null;

  private constructor(
    private readonly req: Readable,
    private readonly limits: BodyLimits,
    private readonly complete: () => boolean,
  ) {}

  /**
   * Reads `req`'s body (node:http's request, or an HTTP/2 stream), which says
   * it is `declared` bytes long (NaN: it does not say); `complete` tells
   * whether the whole body has arrived. Exactly one callback runs, once:
   * `onReady` when the body is complete or is to be streamed, `onGone` when
   * the client left before that, `onFailed` when the spool could not be
   * written (a full disk).
   */
  static read(
    req: Readable,
    declared: number,
    complete: () => boolean,
    limits: BodyLimits,
    onReady: (body: RequestBody, outcome: BodyOutcome) => void,
    onGone: () => void,
    onFailed: (e: Error) => void,
  ): RequestBody {
    const body = new RequestBody(req, limits, complete);
    if (declared > limits.spool) {
      // Said to be larger than the spool takes: streamed from its first byte.
      body.outcome = 'streaming';
      queueMicrotask(() => onReady(body, 'streaming'));
      return body;
    }
    const onData = (chunk: Buffer) => {
      if (body.inMemory + chunk.length <= limits.inMemory && body.spool === null && body.spooled === 0) {
        body.memory.push(chunk);
        body.inMemory += chunk.length;
        return;
      }
      if (body.spooled + chunk.length > limits.spool) {
        // Past the spool limit: the request goes on now, the rest is read as the app reads.
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('close', onClose);
        req.pause();
        req.unshift(chunk);
        body.outcome = 'streaming';
        onReady(body, 'streaming');
        return;
      }
      body.toSpool(chunk);
    };
    const onEnd = () => {
      req.off('close', onClose);
      // The spool's last writes land first.
      void body.writes.then(() => {
        if (body.discarded) return;
        if (body.failed) {
          body.discard();
          return onFailed(body.failed);
        }
        body.outcome = 'complete';
        onReady(body, 'complete');
      });
    };
    const onClose = () => {
      if (complete()) return;
      body.discard();
      onGone();
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    return body;
  }

  /** Bytes kept (in memory and spooled). */
  get size(): number {
    return this.inMemory + this.spooled;
  }

  private toSpool(chunk: Buffer): void {
    const at = this.spooled;
    this.spooled += chunk.length;
    this.pendingWrites += chunk.length;
    if (this.pendingWrites > SPOOL_HIGH_WATER) this.req.pause();
    this.writes = this.writes.then(async () => {
      if (this.discarded || this.failed) return;
      try {
        this.spool ??= await openSpool(this.limits.dir);
        await this.spool.write(chunk, 0, chunk.length, at);
      } catch (e) {
        this.failed = e as Error;
      }
      this.pendingWrites -= chunk.length;
      if (this.pendingWrites <= SPOOL_HIGH_WATER / 2 && this.req.isPaused() && this.outcome === null) this.req.resume();
    });
  }

  /**
   * The body as Python's wsgi.input gets it: what is in memory, then the
   * spool, then (when streaming) the rest as it arrives. Ends in an error
   * (the bridge sends Abort) if the spool cannot be read or the client leaves.
   */
  stream(): Readable {
    const self = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        for (const c of self.memory) yield c;
        await self.writes;
        if (self.failed) throw self.failed;
        if (self.spool) {
          const buf = Buffer.allocUnsafe(1 << 16);
          for (let at = 0; at < self.spooled; ) {
            const { bytesRead } = await self.spool.read(buf, 0, Math.min(buf.length, self.spooled - at), at);
            if (bytesRead === 0) throw new Error('the request body spool file ended early');
            at += bytesRead;
            yield Buffer.from(buf.subarray(0, bytesRead));
          }
        }
        if (self.outcome === 'streaming') {
          for await (const c of self.req) yield c as Buffer;
          if (!self.complete()) throw new Error('the client left before the request body was complete');
        }
      } finally {
        self.discard();
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  /** Drops what was kept (the request will not reach Python, or has been read). */
  discard(): void {
    if (this.discarded) return;
    this.discarded = true;
    this.memory.length = 0;
    void this.writes.then(() => this.spool?.close()).catch(() => {});
  }
}

/** An anonymous spool file: opened, then unlinked at once (nothing is left behind if the worker dies). */
async function openSpool(dir: string | null): Promise<fs.FileHandle> {
  const file = path.join(dir ?? os.tmpdir(), `nicorn-body-${process.pid}-${++spoolSeq}`);
  const fh = await fs.open(file, 'wx+', 0o600);
  await fs.unlink(file);
  return fh;
}
