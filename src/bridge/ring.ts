// A single-producer single-consumer byte ring in a SharedArrayBuffer.
//
// The Python thread is the blocking side (it may Atomics.wait: WSGI is
// synchronous); the I/O thread is the non-blocking side (it must never stall
// its event loop, so it uses Atomics.waitAsync). Both counters only grow
// (modulo 2^32), so "used" is their difference and no lock is needed.

export class Ring {
  readonly capacity: number;
  private readonly mask: number;

  constructor(
    private readonly ctl: Int32Array,
    private readonly writeSlot: number,
    private readonly readSlot: number,
    private readonly data: Uint8Array,
  ) {
    this.capacity = data.length;
    if ((this.capacity & (this.capacity - 1)) !== 0) throw new Error('ring capacity must be a power of two');
    this.mask = this.capacity - 1;
  }

  used(): number {
    return (Atomics.load(this.ctl, this.writeSlot) - Atomics.load(this.ctl, this.readSlot)) >>> 0;
  }

  free(): number {
    return this.capacity - this.used();
  }

  /** Where the next read starts, as an offset into the ring's bytes. */
  readOffset(): number {
    return Atomics.load(this.ctl, this.readSlot) & this.mask;
  }

  /**
   * Copies as much of `src` as fits; returns the number of bytes written.
   * `wake` false leaves the reader asleep: a frame written in pieces wakes it
   * once (wakeReader()), not once per piece; each wake of a waiting thread is
   * a futex syscall.
   */
  write(src: Uint8Array, wake = true): number {
    const w = Atomics.load(this.ctl, this.writeSlot);
    const n = Math.min(src.length, this.capacity - ((w - Atomics.load(this.ctl, this.readSlot)) >>> 0));
    if (n === 0) return 0;
    const off = w & this.mask;
    const first = Math.min(n, this.capacity - off);
    this.data.set(first === src.length ? src : src.subarray(0, first), off);
    if (n > first) this.data.set(src.subarray(first, n), 0);
    Atomics.store(this.ctl, this.writeSlot, (w + n) | 0);
    if (wake) Atomics.notify(this.ctl, this.writeSlot);
    return n;
  }

  /** Wakes a reader waiting for data (after writes with `wake` false). */
  wakeReader(): void {
    Atomics.notify(this.ctl, this.writeSlot);
  }

  /** Copies up to `dst.length` available bytes into `dst`; returns the count. */
  read(dst: Uint8Array): number {
    const r = Atomics.load(this.ctl, this.readSlot);
    const n = Math.min(dst.length, (Atomics.load(this.ctl, this.writeSlot) - r) >>> 0);
    if (n === 0) return 0;
    const off = r & this.mask;
    const first = Math.min(n, this.capacity - off);
    dst.set(this.data.subarray(off, off + first), 0);
    if (n > first) dst.set(this.data.subarray(0, n - first), first);
    Atomics.store(this.ctl, this.readSlot, (r + n) | 0);
    Atomics.notify(this.ctl, this.readSlot);
    return n;
  }

  /** Blocks (Python thread only) until data arrives or `timeoutMs` passes. */
  waitForData(timeoutMs: number): void {
    const w = Atomics.load(this.ctl, this.writeSlot);
    if (((w - Atomics.load(this.ctl, this.readSlot)) >>> 0) === 0) Atomics.wait(this.ctl, this.writeSlot, w, timeoutMs);
  }

  /** Blocks (Python thread only) until space frees up or `timeoutMs` passes. */
  waitForSpace(timeoutMs: number): void {
    const r = Atomics.load(this.ctl, this.readSlot);
    if (((Atomics.load(this.ctl, this.writeSlot) - r) >>> 0) === this.capacity) Atomics.wait(this.ctl, this.readSlot, r, timeoutMs);
  }

  /** Resolves (I/O thread) once data is available. */
  dataAvailable(): Promise<void> {
    return this.waitAsyncWhile(this.writeSlot, () => this.used() === 0);
  }

  /** Resolves (I/O thread) once at least one byte of space is free. */
  spaceAvailable(): Promise<void> {
    return this.waitAsyncWhile(this.readSlot, () => this.free() === 0);
  }

  private async waitAsyncWhile(slot: number, blocked: () => boolean): Promise<void> {
    while (true) {
      const seen = Atomics.load(this.ctl, slot);
      if (!blocked()) return;
      const res = Atomics.waitAsync(this.ctl, slot, seen);
      if (res.async) await res.value;
    }
  }
}
