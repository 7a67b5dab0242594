// Syslog, as Gunicorn's glogging.Logger._set_syslog_handler sets it up: a
// logging.handlers.SysLogHandler per logger ("error" and "access") whose
// records are formatted "gunicorn.<prefix>.<name>: [%(process)d] %(message)s",
// sent as an RFC 3164-style "<PRI>" + text + NUL (SysLogHandler.append_nul),
// with PRI = facility * 8 + the level's syslog priority.
//
//   <11>gunicorn.myapp.app.error: [1234] Worker (pid:1240) was sent SIGKILL!\0
//
// UDP and TCP, as Gunicorn. unix://PATH is rejected: SysLogHandler speaks
// datagrams there, which Node cannot send on a unix socket.

import net from 'node:net';
import type { Settings } from '../config/registry.js';
import { procName } from '../config/settings.js';
import { ConfigError, pyRepr } from '../config/validators.js';
import type { AccessSink } from './access-record.js';
import type { ErrorSink } from './error-log.js';
import type { LogLevel } from './levels.js';
import { UdpSender } from './udp.js';

/** glogging.SYSLOG_FACILITIES. */
export const SYSLOG_FACILITIES: Readonly<Record<string, number>> = {
  auth: 4,
  authpriv: 10,
  cron: 9,
  daemon: 3,
  ftp: 11,
  kern: 0,
  lpr: 6,
  mail: 2,
  news: 7,
  security: 4, // deprecated
  syslog: 5,
  user: 1,
  uucp: 8,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

/** SysLogHandler.mapPriority + priority_names: a logging level's syslog severity. */
export const SYSLOG_SEVERITIES: Readonly<Record<LogLevel, number>> = {
  critical: 2,
  error: 3,
  warning: 4,
  info: 6,
  debug: 7,
};

/** SysLogHandler.encodePriority. */
export function encodePriority(facility: number, level: LogLevel): number {
  return (facility << 3) | SYSLOG_SEVERITIES[level];
}

export function facilityCode(name: string): number {
  const code = SYSLOG_FACILITIES[name.toLowerCase()];
  if (code === undefined) throw new ConfigError('unknown facility name');
  return code;
}

export type SyslogAddress =
  | { transport: 'udp' | 'tcp'; host: string; port: number }
  | { transport: 'unix'; path: string; dgram: boolean };

/** glogging.parse_syslog_address. */
export function parseSyslogAddress(addr: string): SyslogAddress {
  if (addr.startsWith('unix://')) {
    const [p, type] = addr.split(/#(.*)/s, 2) as [string, string?];
    return { transport: 'unix', path: p.slice('unix://'.length), dgram: type === 'dgram' };
  }
  let rest: string;
  let transport: 'udp' | 'tcp';
  if (addr.startsWith('udp://')) {
    rest = addr.slice('udp://'.length);
    transport = 'udp';
  } else if (addr.startsWith('tcp://')) {
    rest = addr.slice('tcp://'.length);
    transport = 'tcp';
  } else {
    throw new ConfigError('invalid syslog address');
  }
  let host: string;
  if (rest.includes('[') && rest.includes(']')) host = rest.split(']')[0]!.slice(1).toLowerCase();
  else if (rest.includes(':')) host = rest.split(':')[0]!.toLowerCase();
  else if (rest === '') host = 'localhost';
  else host = rest.toLowerCase();
  const tail = rest.split(']').at(-1)!;
  let port = 514;
  if (tail.includes(':')) {
    const p = tail.slice(tail.indexOf(':') + 1);
    if (!/^[0-9]+$/.test(p)) throw new ConfigError(`${pyRepr(p)} is not a valid port number.`);
    port = Number(p);
  }
  return { transport, host, port };
}

/** "gunicorn.<prefix>.<name>": --log-syslog-prefix, else proc_name with ':' as '.'. */
export function syslogProgram(settings: Pick<Settings, 'syslog_prefix' | 'proc_name' | 'default_proc_name'>, name: 'error' | 'access'): string {
  const prefix = settings.syslog_prefix || procName(settings).replaceAll(':', '.');
  return `gunicorn.${prefix}.${name}`;
}

/** One SysLogHandler datagram (or TCP message): "<PRI>program: [pid] message\0". */
export function syslogMessage(facility: number, level: LogLevel, program: string, pid: number, message: string): Buffer {
  return Buffer.from(`<${encodePriority(facility, level)}>${program}: [${pid}] ${message}\0`);
}

/** Sends syslog messages over UDP or TCP, fire and forget; never keeps the process alive. */
export class SyslogTransport {
  private readonly udp: UdpSender | null = null;
  private tcp: net.Socket | null = null;
  private closed = false;

  constructor(private readonly addr: Extract<SyslogAddress, { transport: 'udp' | 'tcp' }>) {
    if (addr.transport === 'udp') this.udp = new UdpSender(addr.host, addr.port);
  }

  /** SysLogHandler connects once; nicorn-py connects on the first message and again after a drop. */
  private connectTcp(): net.Socket {
    const s = net.connect(this.addr.port, this.addr.host);
    s.on('error', () => {});
    s.on('close', () => {
      if (this.tcp === s) this.tcp = null;
    });
    s.setNoDelay(true);
    s.unref();
    this.tcp = s;
    return s;
  }

  send(msg: Buffer): void {
    if (this.closed) return;
    if (this.udp) this.udp.send(msg);
    else (this.tcp ?? this.connectTcp()).write(msg);
  }

  close(): void {
    this.closed = true;
    this.udp?.close();
    this.tcp?.end();
    this.tcp = null;
  }
}

/** The transport for --log-syslog-to; unix:// sockets are refused by name. */
export function syslogTransport(settings: Pick<Settings, 'syslog_addr'>): SyslogTransport {
  const addr = parseSyslogAddress(settings.syslog_addr);
  if (addr.transport === 'unix') {
    throw new ConfigError(`syslog_addr ${pyRepr(settings.syslog_addr)} is not supported by nicorn-py yet`);
  }
  return new SyslogTransport(addr);
}

/** What Gunicorn's syslog handler on "gunicorn.error" does with each record that passes the level. */
export class SyslogErrorSink implements ErrorSink {
  private readonly facility: number;
  private readonly program: string;
  private readonly transport: SyslogTransport;

  constructor(settings: Settings) {
    this.facility = facilityCode(settings.syslog_facility);
    this.program = syslogProgram(settings, 'error');
    this.transport = syslogTransport(settings);
  }

  write(level: LogLevel, message: string): void {
    this.transport.send(syslogMessage(this.facility, level, this.program, process.pid, message));
  }

  close(): void {
    this.transport.close();
  }
}

/** The error log's syslog sink, when --log-syslog is on. Throws ConfigError as Gunicorn's setup raises. */
export function syslogErrorSink(settings: Settings): SyslogErrorSink | null {
  return settings.syslog ? new SyslogErrorSink(settings) : null;
}

/**
 * The access log's syslog handler (INFO, "gunicorn.<prefix>.access"), when
 * --log-syslog is on and --disable-redirect-access-to-syslog is not. The
 * sink needs the formatted access line; a call without one sends nothing.
 */
export function syslogAccessSink(settings: Settings): AccessSink | null {
  if (!settings.syslog || settings.disable_redirect_access_to_syslog) return null;
  const facility = facilityCode(settings.syslog_facility);
  const program = syslogProgram(settings, 'access');
  const transport = syslogTransport(settings);
  return (_record, line) => {
    if (line !== undefined) transport.send(syslogMessage(facility, 'info', program, process.pid, line));
  };
}
