// What the host layer (src/runtime/host/) uses of an Emscripten module built
// by Pyodide: its heap views (looked up per call: Emscripten replaces them
// when the heap grows), its file system, allocator and errno table.

/** An Emscripten FS stream (an open file descriptor in the interpreter). */
export interface EmStream {
  fd: number;
  flags: number;
  path?: string;
  node: EmNode;
  stream_ops: Record<string, (...args: never[]) => unknown>;
  /** NODEFS: the host descriptor behind the stream. */
  nfd?: number;
  [key: string]: unknown;
}

export interface EmNode {
  name: string;
  mode: number;
  mount: { opts: { root?: string }; type: unknown; mountpoint: string };
  parent: EmNode;
  node_ops: Record<string, (...args: never[]) => unknown>;
  stream_ops: Record<string, (...args: never[]) => unknown>;
  [key: string]: unknown;
}

/** The subset of Emscripten's FS object the host layer uses. */
export interface EmFS {
  getStream(fd: number): EmStream | null;
  createStream(stream: Partial<EmStream>, fd?: number): EmStream;
  closeStream(fd: number): void;
  createNode(parent: EmNode | null, name: string, mode: number, dev?: number): EmNode;
  lookupPath(path: string, opts?: { follow?: boolean }): { path: string; node: EmNode };
  getPath(node: EmNode): string;
  ErrnoError: new (errno: number) => Error & { errno: number };
  filesystems: Record<string, unknown>;
  streams: (EmStream | null)[];
  [key: string]: unknown;
}

export interface EmModule {
  HEAP8: Int8Array;
  HEAPU8: Uint8Array;
  HEAP16: Int16Array;
  HEAPU16: Uint16Array;
  HEAP32: Int32Array;
  HEAPU32: Uint32Array;
  HEAP64: BigInt64Array;
  FS: EmFS;
  /** errno name -> the interpreter's value (Emscripten's, not the host's). */
  ERRNO_CODES: Record<string, number>;
  /** The interpreter's environment (what os.environ / putenv change). */
  ENV: Record<string, string>;
  UTF8ToString(ptr: number, maxBytes?: number): string;
  stringToUTF8(str: string, ptr: number, maxBytes: number): number;
  _malloc(size: number): number;
  _free(ptr: number): void;
}

/**
 * The wasm module's imports: `env` and `wasi_snapshot_preview1` are one
 * object (Emscripten's wasmImports), which side modules (.so) also link
 * against, so a function replaced here is the one every module calls.
 */
export type WasmImports = Record<string, unknown>;

/** A syscall as Emscripten's JS library implements it: numbers in, a number (0 or -errno) out. */
export type Syscall = (...args: never[]) => number;
