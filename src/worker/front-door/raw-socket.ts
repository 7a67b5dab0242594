// The socket a connection was accepted as. Under a TLS socket node keeps it
// as `_parent`: the per-connection state, the peer's address and the
// listener that accepted it are read from that one.

import type { Socket } from 'node:net';

/** The accepted socket under a TLS one (node keeps it as `_parent`); `sock` itself otherwise. */
export function rawSocket(sock: Socket): Socket {
  return (sock as Socket & { _parent?: Socket })._parent ?? sock;
}
