// Memory snapshots of a booted interpreter (Pyodide's makeMemorySnapshot /
// _loadSnapshot): making one, refusing what one cannot carry, and starting
// an interpreter from one. Everything here runs in the thread that holds
// the interpreter; caching images on disk is snapshot-cache.ts's job.
//
// An image is the wasm heap plus the list of JavaScript objects Python holds.
// What lives outside the heap is not in it: open file descriptors (the
// emscripten FS is JavaScript), the mounts, the current directory, loaded
// WebAssembly extension modules (their code and function-table slots).

import fs from 'node:fs';
import type { PyodideInterface, loadPyodide } from 'pyodide';
import type { EmModule } from './host/module.js';
import { openSockets } from './host/sockets.js';

/** The descriptor a worker finds the arbiter's image on (after stdio, the IPC channel and the WorkerTmp file). */
export const IMAGE_FD = 5;
/** The variable that tells a worker IMAGE_FD holds an image: plumbing, kept out of Python's os.environ. */
export const IMAGE_FD_ENV = 'NICORN_SNAPSHOT_FD';

/** Something the app did before the snapshot that a snapshot cannot carry. */
export class SnapshotError extends Error {}

type PyodideConfig = NonNullable<Parameters<typeof loadPyodide>[0]>;

/** The parts of the emscripten module this file reaches. */
interface EmscriptenModule {
  HEAP8: Int8Array;
  growMemory?: (size: number) => unknown;
  _emscripten_resize_heap?: (size: number) => unknown;
  LDSO?: { loadedLibsByName: Record<string, unknown> };
  FS: {
    streams: ({ path: string } | null | undefined)[];
    filesystems: { NODEFS: NodeFs };
  };
}

interface NodeFsNode {
  mode: number;
}
interface NodeFs {
  realPath(node: NodeFsNode): string;
  stream_ops: { open(stream: { node: NodeFsNode; flags: number }): void };
  node_ops: { readdir(node: NodeFsNode): string[] };
}

/** The emscripten module under a Pyodide interface (Pyodide keeps it as `_module`). */
export function moduleOf(py: PyodideInterface): EmscriptenModule {
  return (py as unknown as { _module: EmscriptenModule })._module;
}

// ---------------------------------------------------------------- host objects

/**
 * The JavaScript objects the host hands Python (registerJsModule), by name:
 * an image refers to them by that name, and the restoring thread supplies
 * its own object of the same name.
 */
const hostObjects = new Map<string, object>();

/** Registers `obj` as the object an image calls `name`; returns it. */
export function hostObject<T extends object>(name: string, obj: T): T {
  hostObjects.set(name, obj);
  return obj;
}

function serializeHostObject(obj: unknown): string {
  for (const [name, known] of hostObjects) if (known === obj) return name;
  const what = typeof obj === 'function' ? `function ${(obj as { name?: string }).name || '(anonymous)'}` : Object.prototype.toString.call(obj);
  throw new SnapshotError(
    `the app holds a JavaScript object (${what}) obtained while it was imported; a snapshot carries only Python state`,
  );
}

function deserializeHostObject(name: unknown): object {
  const obj = typeof name === 'string' ? hostObjects.get(name) : undefined;
  if (!obj) throw new SnapshotError(`the snapshot refers to a host object ${JSON.stringify(name)} this thread does not have`);
  return obj;
}

// ---------------------------------------------------------------- making

/**
 * The source a __pycache__ bytecode file was compiled from, else `file`. An
 * import that finds valid bytecode only stats the source, yet depends on it:
 * after the source changes, the bytecode is stale, not the image's reason to stay.
 */
export function sourceOf(file: string): string {
  const m = /^(.*)\/__pycache__\/([^./]+)\.[^/]*\.pyc$/.exec(file);
  return m ? `${m[1]}/${m[2]}.py` : file;
}

/**
 * Records the host files the interpreter reads and the host directories it
 * lists from now on: what an image made afterwards depends on.
 */
export function trackHostReads(py: PyodideInterface): { files: Set<string>; dirs: Set<string> } {
  const NODEFS = moduleOf(py).FS.filesystems.NODEFS;
  const files = new Set<string>();
  const dirs = new Set<string>();
  const open = NODEFS.stream_ops.open;
  NODEFS.stream_ops.open = (stream) => {
    open(stream);
    // O_ACCMODE 0 is O_RDONLY: files written (logs, caches) are outputs, not inputs.
    if ((stream.flags & 3) === 0) files.add(sourceOf(NODEFS.realPath(stream.node)));
  };
  const readdir = NODEFS.node_ops.readdir;
  NODEFS.node_ops.readdir = (node) => {
    const names = readdir(node);
    dirs.add(NODEFS.realPath(node));
    return names;
  };
  return { files, dirs };
}

/**
 * The image of an interpreter booted with bootPyodide(..., { forSnapshot: true }).
 * Throws SnapshotError, saying what and why, when the state holds something
 * an image cannot carry.
 */
export function makeImage(py: PyodideInterface): Uint8Array {
  const mod = moduleOf(py);
  const sockets = openSockets(mod as unknown as EmModule);
  if (sockets.length > 0) {
    const what = sockets.map((s) => `${s.describe} (file descriptor ${s.fd})`).join(', ');
    throw new SnapshotError(
      `the app keeps ${what} open after it is imported; a snapshot cannot carry open sockets (connect in post_fork or on first use)`,
    );
  }
  const open = mod.FS.streams.flatMap((s, fd) => (s && fd > 2 ? [`${fd} (${s.path})`] : []));
  if (open.length > 0) {
    throw new SnapshotError(
      `the app keeps file descriptor${open.length > 1 ? 's' : ''} ${open.join(', ')} open after it is imported; a snapshot cannot carry open files`,
    );
  }
  const libs = Object.keys(mod.LDSO?.loadedLibsByName ?? {}).filter((n) => n !== '__main__');
  if (libs.length > 0) {
    throw new SnapshotError(`the app loaded WebAssembly extension modules (${libs.join(', ')}); a snapshot cannot carry their code`);
  }
  try {
    return py.makeMemorySnapshot({ serializer: serializeHostObject });
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(`Pyodide could not snapshot the interpreter: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------- restoring

/**
 * An image to start from: its header (magic, build id, the host objects
 * Python held) and a way to write the rest, the heap, into a wasm memory.
 * The heap goes straight from the file into the memory: no copy of tens of
 * megabytes lingers in the JavaScript heap of every worker.
 */
export interface ImageSource {
  header: Uint8Array;
  heapSize: number;
  fill(heap: Uint8Array): void;
}

/** Bytes 4..7 of an image: where the heap starts (after the JSON of host objects). */
function heapStart(header: Uint8Array, size: number): number {
  if (header.byteLength < 16 || header.byteOffset % 4 !== 0) throw new SnapshotError('the snapshot file is truncated');
  const start = new Uint32Array(header.buffer, header.byteOffset, 4)[1]!;
  if (start < 16 || start >= size || start % 4 !== 0) throw new SnapshotError('the snapshot file is truncated');
  return start;
}

/** The heap's size in an image of `image.byteLength` bytes. */
export function imageHeapSize(image: Uint8Array): number {
  return image.byteLength - heapStart(image, image.byteLength);
}

export function imageFromBytes(image: Uint8Array): ImageSource {
  const start = heapStart(image, image.byteLength);
  return {
    header: image.subarray(0, start),
    heapSize: image.byteLength - start,
    fill: (heap) => writeHeap(image.subarray(start), heap, 0),
  };
}

/** An image on a descriptor (the arbiter hands each worker one), read from offset 0. */
export function imageFromFd(fd: number): ImageSource {
  const size = fs.fstatSync(fd).size;
  const first = new Uint8Array(16);
  readFully(fd, first, 0);
  const start = heapStart(first, size);
  const header = new Uint8Array(start);
  readFully(fd, header, 0);
  const heapSize = size - start;
  const fill = (heap: Uint8Array) => {
    const chunk = new Uint8Array(Math.min(CHUNK, heapSize));
    for (let off = 0; off < heapSize; off += chunk.byteLength) {
      const part = chunk.subarray(0, Math.min(chunk.byteLength, heapSize - off));
      readFully(fd, part, start + off);
      writeHeap(part, heap, off);
    }
  };
  return { header, heapSize, fill };
}

const CHUNK = 1 << 20;
const PAGE = 4096;
const ZERO_PAGE = new Uint8Array(PAGE);

/**
 * Copies `src` into the heap at `at`, page by page, leaving out the pages
 * that are zero on both sides: a page never written costs no memory, and
 * a good part of an image (the heap's unused tail, freed arenas) is zeros.
 */
function writeHeap(src: Uint8Array, heap: Uint8Array, at: number): void {
  for (let off = 0; off < src.byteLength; off += PAGE) {
    const page = src.subarray(off, off + PAGE);
    const dst = heap.subarray(at + off, at + off + page.byteLength);
    const zero = ZERO_PAGE.subarray(0, page.byteLength);
    if (Buffer.compare(page, zero) === 0 && Buffer.compare(dst, zero) === 0) continue;
    dst.set(page);
  }
}

function readFully(fd: number, into: Uint8Array, position: number): void {
  for (let off = 0; off < into.byteLength; ) {
    const n = fs.readSync(fd, into, off, into.byteLength - off, position + off);
    if (n === 0) throw new SnapshotError('the snapshot file is truncated');
    off += n;
  }
}

/**
 * loadPyodide options that start from `image`, with restoreHeap() called
 * on the module once it is instantiated. The wasm module exports its memory,
 * sized for a fresh interpreter, and Pyodide would copy the image's heap into
 * it without growing it first (RangeError: offset is out of bounds): so the
 * memory is grown, and the heap written, between the module's instantiation
 * and Pyodide's restore, which is handed the header alone (its copy of an
 * empty heap is a no-op).
 */
export function restoreOptions(image: ImageSource): Partial<PyodideConfig> {
  return { _loadSnapshot: image.header, _snapshotDeserializer: deserializeHostObject };
}

/** Grows the instantiated module's memory to the image's heap and writes the heap into it. */
export function restoreHeap(module: unknown, image: ImageSource): void {
  const mod = module as EmscriptenModule;
  if (mod.HEAP8.length < image.heapSize) {
    if (mod.growMemory) mod.growMemory(image.heapSize);
    else mod._emscripten_resize_heap?.(image.heapSize);
    if (mod.HEAP8.length < image.heapSize) throw new SnapshotError(`cannot grow the WebAssembly memory to the snapshot's ${image.heapSize} bytes`);
  }
  image.fill(new Uint8Array(mod.HEAP8.buffer, 0, image.heapSize));
}
