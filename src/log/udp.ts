// Fire-and-forget UDP datagrams to one HOST:PORT, for syslog and statsd: the
// host name is resolved once, errors are swallowed, and the socket never keeps
// the process alive.

import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';

export class UdpSender {
  private socket: dgram.Socket | null = null;
  /** Datagrams waiting for the host name to resolve. */
  private pending: Buffer[] | null = null;
  private address: string;
  private closed = false;

  constructor(
    host: string,
    private readonly port: number,
  ) {
    this.address = host;
    const family = net.isIP(host);
    if (family) {
      this.open(family);
      return;
    }
    this.pending = [];
    dns.lookup(host, (err, address, fam) => {
      const queued = this.pending ?? [];
      this.pending = null;
      if (err || this.closed) return;
      this.address = address;
      this.open(fam);
      for (const m of queued) this.send(m);
    });
  }

  private open(family: number): void {
    const s = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    s.on('error', () => {});
    s.unref();
    this.socket = s;
  }

  send(msg: Buffer): void {
    if (this.closed) return;
    if (this.pending) this.pending.push(msg);
    else this.socket?.send(msg, this.port, this.address, () => {});
  }

  close(): void {
    this.closed = true;
    this.pending = null;
    this.socket?.close();
    this.socket = null;
  }
}
