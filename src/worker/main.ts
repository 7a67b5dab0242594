// A worker process: the I/O thread. It receives the bound listeners from the
// arbiter, boots the Python thread, then accepts and serves connections
// itself until it is told to stop.

import type http from 'node:http';
import { BootFailure, PythonBridge } from '../bridge/bridge.js';
import type { Settings } from '../config/registry.js';
import { ErrorLog } from '../log/error-log.js';
import { hostLayout } from '../runtime/boot.js';
import { createFrontDoor } from './front-door.js';
import type { ArbiterMessage, WorkerMessage } from './messages.js';

interface Init {
  settings: Settings;
  handles: unknown[];
}

function receiveInit(): Promise<Init> {
  return new Promise((resolve) => {
    let settings: Settings | null = null;
    let expected = 0;
    const handles: unknown[] = [];
    const onMessage = (m: ArbiterMessage, handle: unknown) => {
      if (m.kind === 'init') {
        settings = m.settings;
        expected = m.listeners;
      } else if (m.kind === 'listener') {
        handles[m.index] = handle;
      }
      if (settings && handles.filter(Boolean).length === expected) {
        process.off('message', onMessage);
        resolve({ settings, handles });
      }
    };
    process.on('message', onMessage);
  });
}

async function main(): Promise<void> {
  const { settings, handles } = await receiveInit();
  const log = new ErrorLog(settings.loglevel);
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

  let bridge: PythonBridge;
  try {
    bridge = await PythonBridge.start({
      layout: hostLayout(settings.chdir, settings.pythonpath),
      app: settings.wsgi_app,
      workers: settings.workers,
      loglevel: settings.loglevel,
      pid: process.pid,
    });
  } catch (e) {
    if (e instanceof BootFailure) return exit(e.exitCode);
    log.error(`Exception in worker process\n${(e as Error).stack ?? e}`);
    return exit(3);
  }

  const servers: http.Server[] = handles.map((handle) => {
    const server = createFrontDoor(bridge, { keepalive: settings.keepalive });
    server.listen(handle as never);
    return server;
  });
  bridge.thread.on('error', (e) => {
    log.error(`Python thread crashed: ${e.stack ?? e}`);
    exit(1);
  });

  let stopping = false;
  const gracefulStop = async () => {
    if (stopping) return;
    stopping = true;
    for (const s of servers) s.close();
    await bridge.idle();
    await bridge.stop();
    exit(0);
  };
  process.removeAllListeners('SIGTERM');
  process.on('SIGTERM', () => void gracefulStop());
  process.send?.({ kind: 'ready' } satisfies WorkerMessage);
}

await main();
