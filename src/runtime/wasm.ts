// pyodide.asm.wasm compiled ahead of time. A worker's I/O thread compiles it
// as soon as the process starts (V8 compiles on its own background threads)
// and hands the compiled module to the Python thread, which would otherwise
// read and compile the 9.6 MB itself, in the middle of its boot: a compiled
// module crosses threads of one process without a copy or a second compile.

import fs from 'node:fs';
import v8 from 'node:v8';
import { PYODIDE_DIR } from './layout.js';

/** A compiled WebAssembly.Module (TypeScript's lib declares the WebAssembly API only with the DOM types). */
export type WasmModule = object & { readonly __brand: 'WebAssembly.Module' };

interface WasmInstantiated {
  instance: object;
  module: WasmModule;
}
/** The part of the WebAssembly namespace used here. */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(source: WasmModule, imports: object): Promise<object>;
  instantiate(source: Uint8Array | ArrayBuffer, imports: object): Promise<WasmInstantiated>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** What Interpreter.launch posts to the Python thread once the module is compiled (null: it could not be). */
export interface CompiledWasmMessage {
  kind: 'compiled-wasm';
  module: WasmModule | null;
}

/**
 * V8's optimizing tier for CPython's wasm. --wasm-inlining (wasm-into-wasm
 * inlining) is V8's default from V8 12 on, experimental before it; on
 * Node 20 (V8 11.3) it gives, in a worker (-w 1, routes timing Python; the
 * fixtures' Flask and SQLAlchemy + pg8000 against the local PostgreSQL),
 * µs per turn, V8's defaults -> the flag:
 *
 *   empty for loop               0.0345 -> 0.0267
 *   method calls, new objects    0.81   -> 0.62
 *   one SQLAlchemy query          729   -> 641
 *   Flask's JSON route (called)   228   -> 215
 *
 * Not set: --no-wasm-deopt (V8 13 on). On Node 26 it took the same loop from
 * 0.045 to 0.027 µs a turn once V8 had deoptimized a speculatively inlined
 * call (a deoptimized call goes on in baseline code until it returns: now to
 * the end of its request at most, as workers/sync.py makes a call per turn).
 * Where no call was deoptimized it costs: the same loop, best of 5 after a
 * warm-up, 0.0182 µs a turn against 0.0161 without (Node 26.10). It once
 * seemed to lose --timeout's ABRT (2 of 11 `while True: pass` tries never ran
 * worker_abort); that was Pyodide's racy look at the interrupt flag, fixed in
 * host/wait.ts (patchInterruptCheck): 0 of 32 since, with the flag. A flag is
 * set only on the V8s that know it: V8 prints an error for any other.
 */
const WASM_TIER_FLAGS: readonly { flag: string; sinceV8: number }[] = [{ flag: '--wasm-inlining', sinceV8: 11 }];

let tiersTuned = false;

/**
 * Sets WASM_TIER_FLAGS for this process. V8's flags are per process and read
 * when it compiles: this comes before the first wasm is compiled, and before
 * other threads start (their compilers read the flags).
 */
export function tuneWasmTiers(): void {
  if (tiersTuned) return;
  tiersTuned = true;
  const v8Major = Number(process.versions.v8.split('.')[0]);
  for (const { flag, sinceV8 } of WASM_TIER_FLAGS) if (v8Major >= sinceV8) v8.setFlagsFromString(flag);
}

let pyodideWasm: Promise<WasmModule | null> | null = null;

/**
 * pyodide.asm.wasm, compiled in this thread (once); null when it cannot be
 * (Pyodide then reads and compiles it itself). A worker's I/O thread starts
 * this as its process starts and hands the module to its Python thread
 * (Interpreter.launch), for bootPyodide's `wasm`.
 */
export function compilePyodideWasm(): Promise<WasmModule | null> {
  tuneWasmTiers();
  pyodideWasm ??= fs.promises
    .readFile(`${PYODIDE_DIR}pyodide.asm.wasm`)
    .then(async (bytes) => {
      const module = await wasmApi.compile(bytes);
      releaseNow(bytes);
      return module;
    })
    .catch(() => null);
  return pyodideWasm;
}

/** Emscripten's hook for instantiating the module itself (Pyodide sets it). */
export type InstantiateWasm = (imports: object, success: (instance: object, module: WasmModule) => void) => object;

/**
 * Makes the emscripten `settings` instantiate `module` instead of compiling
 * the bytes Pyodide read. Pyodide's own instantiateWasm still runs: it adds
 * its two error-marker imports (Jsv_GetError_import, JsvError_Check, from a
 * small module of its own) to `imports`, then calls WebAssembly.instantiate
 * on the bytes with those imports; that one call, recognised by its imports
 * object, instantiates the compiled module instead.
 */
export function instantiateCompiled(settings: object, module: Promise<WasmModule | null>): void {
  const s = settings as { instantiateWasm?: InstantiateWasm };
  const pyodides = s.instantiateWasm;
  // Pyodide leaves it unset only for source-map and sanitizer builds.
  if (!pyodides) return;
  s.instantiateWasm = (imports, success) => {
    void module.then((compiledModule) => {
      if (compiledModule) {
        const instantiate = wasmApi.instantiate;
        wasmApi.instantiate = ((source: WasmModule | Uint8Array, imps: object) => {
          if (imps !== imports) return instantiate.call(wasmApi, source as Uint8Array, imps);
          wasmApi.instantiate = instantiate;
          // The bytes Pyodide read, not needed: its closure holds them until the boot ends.
          if (source instanceof Uint8Array) releaseNow(source);
          const fromModule = instantiate as (source: WasmModule, imports: object) => Promise<object>;
          return fromModule.call(wasmApi, compiledModule, imps).then((instance) => ({ instance, module: compiledModule }));
        }) as WasmApi['instantiate'];
      }
      pyodides(imports, success);
    });
    // As Pyodide's: instantiating asynchronously, no exports yet.
    return {};
  };
}

/**
 * Frees the 9.6 MB of wasm bytes in `bytes` now instead of at the thread's
 * next full garbage collection, which a thread that allocates little
 * JavaScript (the Python thread; the I/O thread while idle) may not run for
 * its whole life: V8 keeps its own copy of a compiled module's bytes, so these
 * were one dead copy per interpreter and one in the I/O thread (hello app,
 * --threads 2: four copies of the wasm bytes in the worker's memory, found by
 * their symbol names). Transferring the ArrayBuffer into a port that is
 * closed at once detaches it; its memory goes with the queued message when
 * the close completes, on the thread's next event-loop turn (the Python
 * thread takes one before serve() blocks it: python-thread.ts).
 */
function releaseNow(bytes: Uint8Array): void {
  if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength || !(bytes.buffer instanceof ArrayBuffer)) return;
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(null, [bytes.buffer]);
  } catch {
    // An untransferable buffer (node's pool): left to the garbage collector.
  } finally {
    port1.close();
    port2.close();
  }
}
