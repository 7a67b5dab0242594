// SERVER_NAME and SERVER_PORT as Gunicorn fills them: from the listening
// socket's own address (its workers pass listener.getsockname() to
// wsgi.create), so a worker bound to 0.0.0.0:8000 says 0.0.0.0, whichever
// interface the connection came in on. A unix socket has no name or port
// here: the Host header gives them (python/nicorn/environ).
//
// Read once per listener, not per connection: under Connection: close the
// connection's own getsockname cost 3.7 us of the I/O thread's ~155 per
// request (hello app, --cpu-prof).

import type net from 'node:net';
import { rawSocket } from './raw-socket.js';

export interface ListenerAddress {
  serverName: string;
  serverPort: string;
}

const UNIX: ListenerAddress = { serverName: '', serverPort: '' };
const known = new WeakMap<net.Server, ListenerAddress>();

/** The address of the listener that accepted `sock` (a TLS socket's: of its TCP socket's). */
export function listenerAddress(sock: net.Socket): ListenerAddress {
  const server = (rawSocket(sock) as net.Socket & { server?: net.Server }).server;
  if (!server) return UNIX;
  let address = known.get(server);
  if (!address) {
    const a = server.address();
    address = a === null || typeof a === 'string' ? UNIX : { serverName: a.address, serverPort: String(a.port) };
    known.set(server, address);
  }
  return address;
}
