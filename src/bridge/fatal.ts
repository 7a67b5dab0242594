// The Python thread's account of its own death. Pyodide cannot survive a
// JavaScript error thrown through WebAssembly (V8's stack overflowing in C
// recursion, a trap such as C's abort()), nor os._exit(): the interpreter is
// gone and the worker must be replaced. Pyodide's own report of a fatal error
// is a banner, the cause and its wasm stack on console.error (~40 lines),
// then the Python stack in faulthandler's format on fd 2. The console lines
// are dropped here: the I/O thread logs one entry in their place (what
// happened, the request line), right after the Python stack.

/** What the Python thread posts to the I/O thread before it ends. */
export interface CrashReport {
  kind: 'crashed';
  /** 'stack-overflow': V8's stack ran out in WebAssembly; 'fatal': any other error Pyodide could not survive; 'exit': os._exit(). */
  cause: 'stack-overflow' | 'fatal' | 'exit';
  /** The JavaScript error's name and message ("RangeError: Maximum call stack size exceeded"). */
  error: string;
  /** os._exit()'s status. */
  exitStatus: number;
  /** Whether Pyodide printed the Python stack (it does for a fatal error, not for os._exit()). */
  stackPrinted: boolean;
}

const FATAL_BANNER = 'Pyodide has suffered a fatal error';

/**
 * Silences Pyodide's console report of a fatal error, and returns the
 * function that turns the error that then ends `serve()` into a report.
 */
export function collectFatalReport(): (e: unknown) => CrashReport {
  let fatal = false;
  const consoleError = console.error.bind(console);
  console.error = (...args: unknown[]) => {
    if (!fatal && typeof args[0] === 'string' && args[0].startsWith(FATAL_BANNER)) fatal = true;
    if (!fatal) consoleError(...args);
  };
  return (e: unknown): CrashReport => {
    const err = e instanceof Error ? e : new Error(String(e));
    // Emscripten's ExitStatus, turned into an Error by Pyodide: "Program terminated with exit(N)".
    const exit = /Program terminated with exit\((-?\d+)\)/.exec(err.message);
    const status = (e as { status?: unknown }).status;
    return {
      kind: 'crashed',
      cause: exit ? 'exit' : err instanceof RangeError && /call stack/i.test(err.message) ? 'stack-overflow' : 'fatal',
      error: `${err.name}: ${err.message}`,
      exitStatus: typeof status === 'number' ? status : exit ? Number(exit[1]) : 1,
      stackPrinted: fatal,
    };
  };
}

/** The error log's entry for a crash; `request` is the request line, or null between requests. */
export function describeCrash(r: CrashReport, request: string | null): string {
  const during = request ? ` while handling "${request}"` : '';
  if (r.cause === 'exit') return `The app called os._exit(${r.exitStatus})${during}; the worker exits with it`;
  const what =
    r.cause === 'stack-overflow'
      ? `the WebAssembly stack overflowed (${r.error}): a C-level recursion too deep for RecursionError to catch`
      : r.error;
  return `Python crashed${during}: ${what}; the worker is replaced${r.stackPrinted ? ' (its Python stack is above)' : ''}`;
}
