// The worker's HTTP front door: node:http (llhttp) parses and frames every
// request; each one becomes an Exchange handed to the Python bridge.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { PythonBridge } from '../bridge/bridge.js';
import type { RequestHead } from '../bridge/protocol.js';

export interface FrontDoorOptions {
  /** Seconds an idle keep-alive connection is kept open. */
  keepalive: number;
}

function hasBody(req: http.IncomingMessage): boolean {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && Number(cl) > 0;
}

export function requestHead(req: http.IncomingMessage): RequestHead {
  const sock = req.socket;
  const local = sock.address() as AddressInfo | Record<string, never>;
  return {
    method: req.method ?? 'GET',
    target: req.url ?? '/',
    httpVersion: req.httpVersion,
    hasBody: hasBody(req),
    scheme: (sock as TLSSocket).encrypted ? 'https' : 'http',
    remoteAddress: sock.remoteAddress ?? '',
    remotePort: sock.remotePort ?? 0,
    serverName: 'address' in local ? local.address : '',
    serverPort: 'port' in local ? String(local.port) : '',
    rawHeaders: req.rawHeaders,
  };
}

export function createFrontDoor(bridge: PythonBridge, opts: FrontDoorOptions): http.Server {
  const server = http.createServer({
    insecureHTTPParser: false,
    keepAlive: true,
    // The app never sees a header-joined object: raw pairs go to Python.
    joinDuplicateHeaders: false,
  });
  server.keepAliveTimeout = opts.keepalive * 1000;
  server.on('request', (req, res) => {
    // Gunicorn's keepalive = 0 turns keep-alive off; node's 0 would mean "forever".
    if (opts.keepalive <= 0) res.shouldKeepAlive = false;
    bridge.handle({ head: requestHead(req), req, res, startedAt: Date.now(), t0: process.hrtime.bigint() });
  });
  return server;
}
