// The host socket layer (src/runtime/host/sockets.ts) in one real
// interpreter: its premise (the interpreter's socket constants are the
// host's), and a --preload image refused while a socket is open.

import { spawnSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import type { PyodideInterface } from 'pyodide';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bootPyodide } from '../../src/runtime/boot.js';
import { hostLayout } from '../../src/runtime/layout.js';
import { SnapshotError, makeImage } from '../../src/runtime/snapshot.js';

const CONSTANTS = `
import json, select, socket
prefixes = ("AF_", "SOCK_", "SOL_", "SO_", "IPPROTO_", "TCP_", "MSG_", "SHUT_", "EAI_", "AI_", "NI_", "IP_", "IPV6_")
table = {n: int(getattr(socket, n)) for n in dir(socket) if n.startswith(prefixes) and isinstance(getattr(socket, n), int)}
table.update({n: getattr(select, n) for n in dir(select) if n.startswith("POLL")})
json.dumps(table)
`;

const live = suite<{ py: PyodideInterface }>('host sockets');

live('the interpreter numbers sockets as the host does (only SO_RCVTIMEO/SO_SNDTIMEO and NI_MAXHOST differ)', async (ctx) => {
  ctx.py = await bootPyodide(hostLayout(os.tmpdir(), []), {}, undefined, { kind: 'for-snapshot' });
  const ours = JSON.parse(ctx.py.runPython(CONSTANTS) as string) as Record<string, number>;
  const py = spawnSync('python3', ['-c', `${CONSTANTS.replace(/\njson\.dumps\(table\)\n$/, '\nprint(json.dumps(table))\n')}`], { encoding: 'utf8' });
  assert.is(py.status, 0, py.stderr);
  const host = JSON.parse(py.stdout) as Record<string, number>;
  const differ = Object.keys(ours).filter((n) => n in host && host[n] !== ours[n]).sort();
  assert.equal(differ, ['NI_MAXHOST', 'SO_RCVTIMEO', 'SO_SNDTIMEO']);
  assert.ok(Object.keys(ours).filter((n) => n in host).length > 150, 'most names compared');
});

live('a socket open when the image is made is refused, naming the socket and its peer', async ({ py }) => {
  const server = net.createServer(() => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    // Imported before the snapshot, as an app module would.
    py.runPython(`import socket\nheld = socket.create_connection(("127.0.0.1", ${port}))`);
    assert.throws(
      () => makeImage(py),
      (e: Error) => e instanceof SnapshotError && new RegExp(`TCP socket connected to 127\\.0\\.0\\.1:${port} \\(file descriptor \\d+\\).*cannot carry open sockets`).test(e.message),
    );
    py.runPython('held.close()');
  } finally {
    server.close();
  }
});

live.run();
