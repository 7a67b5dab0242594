// A worker process's I/O thread, once its Python thread is launched
// (main.ts): the worker base, what every worker class does, as Gunicorn's
// workers/base.py. It opens the logs, drops privileges, starts the class's
// interpreters (classes.ts), then accepts and serves connections on the
// listeners the arbiter sent until it is told to stop; signals, the
// heartbeat and max-requests are handled here for every class.

import type http from 'node:http';
import path from 'node:path';
import { BootFailure, type LaunchedThread } from '../bridge/interpreter.js';
import type { WorkerDispatcher } from '../bridge/dispatcher.js';
import { servedWorkerClass } from '../config/worker-classes.js';
import { WORKER_CLASS_IMPLEMENTATIONS } from './classes.js';
import { appSpec, procName } from '../config/settings.js';
import { ErrorLog } from '../log/error-log.js';
import { startMakingBaseImage } from '../runtime/base-image.js';
import { hostLayout } from '../runtime/layout.js';
import { AccessLog, accessAtoms, environAtoms, formatAccess } from '../log/access-log.js';
import { statsdAccessSink } from '../log/statsd.js';
import { syslogAccessSink } from '../log/syslog.js';
import { arbiterAccessSink, routeLinesToArbiter } from '../log/log-config.js';
import { WORKER_TMP_FD, notify } from './worker-tmp.js';
import { dropPrivileges } from './privileges.js';
import { createFrontDoor } from './front-door/server.js';
import { createUwsgiFrontDoor, type UwsgiServer } from './front-door/uwsgi-door.js';
import { answerAbandoned } from './abandoned.js';
import { describeCrash } from '../bridge/fatal.js';
import { INTERRUPT_GRACE_MS, type Init, type WorkerMessage } from './messages.js';
import { keepAliveSpread } from './keepalive-spread.js';
import { yieldCoresToPython } from './scheduling.js';
import { settleMalloc } from '../runtime/memory.js';

const MIB = 1 << 20;

/**
 * @param launched the interpreter main.ts started before the init arrived
 * @param launchMore starts another, for classes that run several (gthread)
 */
export async function runWorker(received: Promise<Init>, launched: LaunchedThread, launchMore: () => LaunchedThread): Promise<void> {
  const { init, handles } = await received;
  const { settings } = init;
  const log = ErrorLog.fromSettings(settings);
  routeLinesToArbiter(log, settings);
  process.title = `nicorn-py: worker [${procName(settings)}]`;
  log.info(`Booting worker with pid: ${process.pid}`);
  const exit = (code: number) => {
    log.info(`Worker exiting (pid: ${process.pid})`);
    process.exit(code);
  };
  // Until the app is loaded a quick exit is all there is to do.
  process.on('SIGTERM', () => exit(0));
  process.on('SIGQUIT', () => exit(0));
  process.on('SIGINT', () => exit(0));
  process.on('disconnect', () => exit(0));
  // main.ts stopped listening for 'disconnect' when the init arrived: an arbiter
  // gone since then was not heard.
  if (!process.connected) exit(0);
  // As Gunicorn's workers check os.getppid() in their loop: an arbiter gone (its
  // IPC channel's end not seen) leaves an orphan re-parented to init. Seen in CI:
  // a worker whose arbiter a test had killed held uvu's output open for ever.
  const arbiterPid = process.ppid;
  setInterval(() => {
    if (process.ppid === arbiterPid) return;
    log.info(`Parent changed, shutting down: <Worker ${process.pid}>`);
    exit(0);
  }, 1000).unref();

  // Log files are opened before dropping privileges, as Gunicorn's master opens them.
  // With a log configuration the access lines are Python records, emitted by the arbiter.
  const configuredAccess = arbiterAccessSink(settings);
  const accessLog = settings.accesslog && !configuredAccess ? new AccessLog(settings.accesslog, settings.access_log_format) : null;
  const syslogAccess = syslogAccessSink(settings);
  const statsdAccess = statsdAccessSink(log);
  // -u/-g/--initgroups: the worker drops to the configured user and group before any app code runs.
  dropPrivileges(settings, log);
  // USR1 (reopen log files) must not reach node's default, which starts the inspector.
  process.on('SIGUSR1', () => {
    log.reopen();
    accessLog?.reopen();
  });

  // Validated by the arbiter already; the class map says which class this worker is.
  const workerClass = servedWorkerClass(settings.worker_class, settings.threads);
  let dispatcher: WorkerDispatcher;
  try {
    dispatcher = await WORKER_CLASS_IMPLEMENTATIONS[workerClass].start(launched, {
      layout: hostLayout(settings.chdir, settings.pythonpath, init.config?.path ? [path.dirname(init.config.path)] : []),
      log: log.forPythonThread(),
      boot: {
        worker_class: workerClass,
        app: appSpec(settings),
        workers: settings.workers,
        threads: settings.threads,
        loglevel: settings.loglevel,
        pid: process.pid,
        ppid: process.ppid,
        age: init.age,
        settings: JSON.stringify(settings),
        config: init.config,
        hook_names: init.hooks,
        access_env: accessLog?.environKeys ?? (syslogAccess || configuredAccess ? environAtoms(settings.access_log_format) : []),
        check_wsgi_dir: init.checkWsgiDir,
      },
    }, launchMore, settings);
  } catch (e) {
    if (e instanceof BootFailure) return exit(e.exitCode);
    // A PythonError's message is the Python traceback, as Gunicorn logs it; its JavaScript stack says nothing more.
    const why = e instanceof Error ? (e.name === 'PythonError' ? e.message.trimEnd() : (e.stack ?? String(e))) : String(e);
    log.error(`Exception in worker process\n${why}`);
    return exit(3);
  }

  // Every interpreter runs now (they keep SCHED_OTHER): from here on this thread yields to them (scheduling.ts).
  const scheduling = yieldCoresToPython();
  if (scheduling.kind === 'failed') log.debug(`The I/O thread stays SCHED_OTHER: ${scheduling.why}`);

  if (accessLog || syslogAccess || statsdAccess || configuredAccess) {
    dispatcher.onAccess = (r) => {
      const line = accessLog ? accessLog.write(r) : syslogAccess ? formatAccess(settings.access_log_format, accessAtoms(r, process.pid)) : undefined;
      syslogAccess?.(r, line);
      statsdAccess?.(r);
      configuredAccess?.(r);
    };
  }

  // With other workers on the socket, one over its share of kept-alive connections sheds some (keepalive-spread.ts).
  const spread = settings.workers > 1 ? keepAliveSpread(() => dispatcher.backlog()) : null;
  const servers: (http.Server | UwsgiServer)[] = handles.map((handle) => {
    // --protocol: every listener speaks HTTP/1 (node:http), or uwsgi to nginx's uwsgi_pass.
    const server =
      settings.protocol === 'uwsgi'
        ? createUwsgiFrontDoor(dispatcher, settings, log, () => draining)
        : createFrontDoor(dispatcher, settings, log, () => draining, spread);
    // listen(2) happens here, in each worker, with Gunicorn's --backlog.
    server.listen(handle as never, settings.backlog);
    return server;
  });
  let stopping = false;
  /** Set when the worker is leaving: responses then close their connection. */
  let draining = false;
  /** The 500 pages of requests gthread's --timeout took from their interpreters, until written. */
  let answeringStuck: Promise<void> = Promise.resolve();
  /** Stops accepting and answers what Python left unanswered (src/worker/abandoned.ts). */
  const answerForPython = () => {
    for (const s of servers) {
      s.close();
      s.closeIdleConnections();
    }
    return answerAbandoned(dispatcher.abandon());
  };
  const leaveAfter = async (code: number) => {
    await answerForPython();
    exit(code);
  };
  // The Python thread died while serving (src/bridge/fatal.ts): one entry in the log, then a replacement.
  dispatcher.onThreadDeath = (death) => {
    if (stopping) return;
    stopping = true;
    if (death.kind === 'stopped') return void leaveAfter(death.exitCode);
    const request = dispatcher.currentRequestLine();
    let code = 1;
    if (death.kind === 'report') {
      const { report } = death;
      if (report.cause === 'exit') code = report.exitStatus;
      const line = describeCrash(report, request);
      if (report.cause === 'exit' && code === 0) log.info(line);
      else log.error(line);
    } else {
      const why = death.kind === 'error' ? (death.error.stack ?? String(death.error)) : `it exited with code ${death.code}`;
      log.error(`Python thread crashed${request ? ` while handling "${request}"` : ''}: ${why}`);
    }
    void leaveAfter(code);
  };
  const gracefulStop = async () => {
    if (stopping) return;
    stopping = true;
    draining = true;
    // asgi: open WebSockets are closed with 1001 (Going Away), as Gunicorn's asgi worker does; the
    // servers' close below waits for their sockets too (an upgraded socket still counts as a connection).
    dispatcher.goingAway?.();
    // Stop accepting, but let kept-alive connections finish: a request already on
    // its way is served (with Connection: close) instead of meeting a closed socket.
    // Idle ones end at their keep-alive timeout.
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeIdleConnections = () => {};
            s.close(() => resolve());
          }),
      ),
    );
    await dispatcher.idle();
    await dispatcher.stop();
    await answeringStuck;
    exit(0);
  };

  // Gunicorn's max_requests (+ a random jitter per worker), and --max-worker-memory: this
  // worker asks to be replaced and keeps serving until its replacement does (the arbiter
  // then sends TERM), so that a rotation costs no outage.
  const jitter = settings.max_requests_jitter > 0 ? Math.floor(Math.random() * (settings.max_requests_jitter + 1)) : 0;
  const maxRequests = settings.max_requests > 0 ? settings.max_requests + jitter : 0;
  const maxMemory = settings.max_worker_memory * MIB;
  let retiring = false;
  const retire = (why: string) => {
    retiring = true;
    log.info(why);
    if (process.send) process.send({ kind: 'retire' } satisfies WorkerMessage);
    else void gracefulStop();
  };
  if (maxRequests > 0 || maxMemory > 0) {
    dispatcher.onRequestDone = () => {
      if (retiring || stopping) return;
      if (maxRequests > 0 && dispatcher.handled >= maxRequests) {
        retire('Autorestarting worker after current request.');
        return;
      }
      const memory = dispatcher.wasmMemoryBytes();
      if (maxMemory > 0 && memory > maxMemory) {
        retire(
          `Autorestarting worker after current request: its WebAssembly memory has grown to ${Math.round(memory / MIB)} MiB, ` +
            `past --max-worker-memory ${settings.max_worker_memory} MiB (wasm memory is never given back)`,
        );
      }
    };
  }

  // The arbiter's view of this worker: alive (the WorkerTmp file's ctime, as in
  // Gunicorn), and how long Python has been busy in one request.
  let spinner = 0;
  notify(WORKER_TMP_FD, ++spinner);
  const heartbeat = setInterval(() => {
    notify(WORKER_TMP_FD, ++spinner);
    // gthread times out each interpreter itself (below): the arbiter watches the I/O thread only.
    process.send?.({ kind: 'heartbeat', busyMs: workerClass === 'gthread' ? 0 : dispatcher.busyFor() } satisfies WorkerMessage);
  }, 1000);
  heartbeat.unref();
  // gthread: an interpreter stuck in one request past --timeout is interrupted
  // (worker_abort runs in it) and its request gets the 500 page; the others
  // serve on while the arbiter replaces this worker (none left: it leaves).
  // Gunicorn's gthread worker has no such limit: its heartbeat goes on while a
  // thread is stuck; a worker of interpreters cannot start a new one in its place.
  if (workerClass === 'gthread' && settings.timeout > 0 && dispatcher.abortStuck) {
    const abortStuck = dispatcher.abortStuck.bind(dispatcher);
    const watch = setInterval(() => {
      // Also while TERM drains the worker: it still serves the requests of its
      // kept-alive connections, and one stuck there held it (and its client)
      // for as long as the app liked (time.sleep(100): answered 200 after
      // 100 s); a sync worker's arbiter goes on watching it then too.
      if (stopping && !draining) return;
      const { sinks, aborted, serving } = abortStuck(settings.timeout * 1000);
      if (aborted.length === 0) return;
      for (const line of aborted) log.critical(`WORKER TIMEOUT (pid:${process.pid}): an interpreter was stuck in "${line}" for --timeout ${settings.timeout} s; aborted`);
      answeringStuck = answerAbandoned(sinks);
      // Leaving already: it exits once idle, after these pages.
      if (draining) return;
      if (serving === 0) {
        stopping = true;
        void leaveAfter(1);
      } else if (!retiring) {
        retire(`Autorestarting worker: ${serving} of its ${settings.threads} interpreters serve until its replacement does.`);
      }
    }, 250);
    watch.unref();
  }
  // INT/QUIT (worker_int) and ABRT (worker_abort) interrupt Python; it gets a moment.
  const interrupt = (signal: 2 | 6) => {
    if (stopping) return;
    stopping = true;
    // ABRT (--timeout): the aborted request gets Gunicorn's 500 page now if nothing was
    // sent yet, while Python unwinds and runs worker_abort (the arbiter kills a worker
    // still here INTERRUPT_GRACE_MS and a tick after its ABRT).
    const answered = signal === 6 ? answerForPython() : Promise.resolve();
    let pythonStopped = false;
    const leave = (code: number) => void answered.then(() => exit(code));
    setTimeout(() => {
      if (pythonStopped) return;
      const [sig, hook] = signal === 6 ? ['ABRT', 'worker_abort'] : ['INT/QUIT', 'worker_int'];
      // Whether Python ever looked at the flag tells a Python that never checked
      // (blocked outside its eval loop and the host's waits) from one that dropped it.
      const seen = dispatcher.interruptUnread() ? 'Python never read the interrupt flag' : 'Python read the interrupt flag';
      log.error(`Python did not stop within ${INTERRUPT_GRACE_MS / 1000} s of ${sig} (${seen}): the worker leaves without ${hook} and worker_exit`);
      leave(signal === 6 ? 1 : 0);
    }, INTERRUPT_GRACE_MS).unref();
    void dispatcher.interrupt(signal).then((code) => {
      pythonStopped = true;
      leave(code);
    });
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) process.removeAllListeners(sig);
  process.on('SIGTERM', () => void gracefulStop());
  process.on('SIGINT', () => interrupt(2));
  process.on('SIGQUIT', () => interrupt(2));
  process.on('SIGABRT', () => interrupt(6));
  process.send?.({ kind: 'ready' } satisfies WorkerMessage);
  // Booted under glibc's malloc defaults (fewer page faults); served under the policy that gives memory back.
  const malloc = settleMalloc();
  if (malloc.kind === 'failed') log.debug(`malloc keeps its defaults: ${malloc.why}`);
  // The first worker of an install (or after its files changed) has the base snapshot made now that it serves.
  if (dispatcher.baseMissing !== null) makeBaseImage(dispatcher.baseMissing, log);
}

/** Has the base image made (base-image.ts) and logs what became of it. */
function makeBaseImage(why: string, log: ErrorLog): void {
  const making = startMakingBaseImage(why, ({ level, message }) => log[level](message));
  // Info when this worker has it made (the maker costs seconds of CPU beside it, and "made in" follows); debug otherwise.
  if (making) log.info(`Making the base snapshot (${why})`);
  else log.debug(`Base snapshot: ${why}; another process made it or is making it`);
}

