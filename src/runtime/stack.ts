// The Python thread's stack, and the guards that keep deep recursion an
// exception (RecursionError) instead of a crash of the interpreter.
//
// Under Pyodide a C function's frame lives on two stacks: V8's native stack
// (every WebAssembly call) and Emscripten's stack in linear memory (only the
// locals whose address is taken). CPython 3.14 guards only the second (its
// C-stack check compares the linear stack pointer with a window, 10 MiB by
// default), but V8's runs out first: with node's default 4 MiB per thread a
// repr() of lists nested 100k deep, or 940 levels of Python recursion through
// sorted(key=...), end in "RangeError: Maximum call stack size exceeded",
// which Pyodide cannot survive. Measured per level of recursion
// (/tmp probe, Pyodide 314.0.7, Node 20: linear bytes vs. frames of a trivial
// JS function, ~72 bytes each, on V8's stack):
//   repr of nested lists       32 B   3.1 frames   (ratio 0.10)
//   json.dumps of nested lists 48 B   2.3 frames   (0.05)
//   Python via sorted(key=)  2080 B  59 frames     (0.03)
//   __getattr__ recursion     464 B  52 frames     (0.11)
// So the V8 stack is made 32 MiB (~460k trivial frames; only touched pages
// are resident) and CPython's window 2 MiB: at the window's end the worst
// path measured has used ~230k frames, half the stack. A C recursion then
// raises RecursionError("Stack overflow (used 2032 kB)") in 1-2 s.
//
// Python-to-Python calls use neither stack in 3.14, but the traceback of a
// RecursionError is a chain that CPython frees recursively, on V8's stack
// and out of the window's sight: at 32 MiB a chain of 200k frames was freed,
// one of 400k crashed (at 4 MiB: 20k freed, 50k crashed). So
// sys.setrecursionlimit() is capped at 100k (python/nicorn/recursion.py), and
// `sys.setrecursionlimit(10**6)` then fails fast: RecursionError after 100k
// frames, 0.1 s, instead of a crash or a hang.

import type { PyodideInterface } from 'pyodide';

/** V8's stack for the Python thread (worker_threads' resourceLimits.stackSizeMb; node's default is 4). */
export const PYTHON_THREAD_STACK_MB = 32;
/** CPython's C-stack window in linear memory: RecursionError when a recursion has used this much of it. */
export const C_STACK_WINDOW_BYTES = 2 << 20;
/** The highest recursion limit the app may set (see above). */
export const MAX_RECURSION_LIMIT = 100_000;

interface StackExports {
  _emscripten_stack_get_base(): number;
  _PyThreadState_Get(): number;
  _PyUnstable_ThreadState_SetStackProtection(tstate: number, start: number, size: number): number;
}

/** Narrows CPython's C-stack window for this thread's interpreter to C_STACK_WINDOW_BYTES below its top. */
export function guardCStack(py: PyodideInterface): void {
  const m = (py as unknown as { _module: StackExports })._module;
  const top = m._emscripten_stack_get_base();
  const rc = m._PyUnstable_ThreadState_SetStackProtection(m._PyThreadState_Get(), top - C_STACK_WINDOW_BYTES, C_STACK_WINDOW_BYTES);
  if (rc !== 0) throw new Error(`PyUnstable_ThreadState_SetStackProtection failed (${rc})`);
}
