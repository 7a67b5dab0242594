// StatsD metrics, as Gunicorn's instrument/statsd.py emits them (its Statsd
// logger class, in use whenever --statsd-host is set):
//
//   gunicorn.requests:1|c|@1.0            one per request
//   gunicorn.request.duration:12.345|ms   the request's duration in ms
//   gunicorn.request.status.200:1|c|@1.0  one per request, by status
//   gunicorn.workers:2|g                  when the arbiter's worker count changes
//   gunicorn.backlog:0|h                  each second, with --enable-backlog-metric
//   gunicorn.log.critical:1|c|@1.0        and .error, .warning, .exception: one per
//                                         such call on the error log
//
// every name behind --statsd-prefix (a '.' added when missing) and followed
// by '|#' + --dogstatsd-tags when set. UDP, fire and forget.

import type { Settings } from '../config/registry.js';
import { ConfigError, pyRepr } from '../config/validators.js';
import type { AccessSink } from './access-record.js';
import type { CountedKind, ErrorLog, ErrorSink } from './error-log.js';
import { UdpSender } from './udp.js';

/** Statsd.__init__: sub(r"^(.+[^.]+)\.*$", "\g<1>.", cfg.statsd_prefix). */
export function statsdPrefix(prefix: string): string {
  return prefix.replace(/^(.+[^.]+)\.*$/, '$1.');
}

/** validate_statsd_address + util.parse_address(val, default_port='8125'). */
export function parseStatsdAddress(addr: string): { host: string; port: number } | { path: string } {
  const compat = /^unix:(\d+)$/.exec(addr);
  if (compat) return { host: 'unix', port: Number(compat[1]) };
  if (/^unix:(\/\/)?/.test(addr)) return { path: addr.split(/unix:(?:\/\/)?/).at(-1)! };
  const netloc = addr.startsWith('tcp://') ? addr.slice('tcp://'.length) : addr;
  let host = netloc;
  let port = '8125';
  if (netloc.includes('[') && netloc.includes(']')) {
    host = netloc.split(']')[0]!.slice(1);
    port = netloc.split(']:')[1] ?? '8125';
  } else if (netloc.includes(':')) {
    [host, port] = netloc.split(':') as [string, string];
  } else if (netloc === '') {
    host = '0.0.0.0';
  }
  if (!/^\s*[+-]?\d+\s*$/.test(port)) throw new ConfigError(`${pyRepr(port)} is not a valid port number.`);
  return { host: host.toLowerCase(), port: Number(port) };
}

/** Python's str() of a float (the values statsd.py formats), for the finite values a duration takes. */
export function pyFloat(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  return String(x);
}

/** access(): request_time.seconds * 1000 + float(request_time.microseconds) / 10 ** 3. */
export function durationMs(durationUs: number): number {
  const us = Math.round(durationUs);
  const seconds = Math.floor(us / 1e6) % 86400;
  return seconds * 1000 + (us % 1e6) / 1e3;
}

export class Statsd implements ErrorSink {
  readonly prefix: string;

  /** `send`: where each datagram goes (a UDP socket; tests capture them). */
  constructor(
    private readonly sendDatagram: (msg: Buffer) => void,
    prefix: string,
    private readonly tags: string,
    private readonly closeSocket: () => void = () => {},
  ) {
    this.prefix = statsdPrefix(prefix);
  }

  /** The client --statsd-host asks for, or null. A unix socket is refused by name. */
  static fromSettings(settings: Pick<Settings, 'statsd_host' | 'statsd_prefix' | 'dogstatsd_tags'>): Statsd | null {
    if (settings.statsd_host === null) return null;
    const addr = parseStatsdAddress(settings.statsd_host);
    if ('path' in addr) throw new ConfigError(`statsd_host ${pyRepr(settings.statsd_host)} is not supported by nicorn-py yet`);
    const udp = new UdpSender(addr.host, addr.port);
    return new Statsd((m) => udp.send(m), settings.statsd_prefix, settings.dogstatsd_tags, () => udp.close());
  }

  gauge(name: string, value: number | string): void {
    this.send(`${this.prefix}${name}:${value}|g`);
  }

  increment(name: string, value: number | string = 1, samplingRate = 1.0): void {
    this.send(`${this.prefix}${name}:${value}|c|@${pyFloat(samplingRate)}`);
  }

  decrement(name: string, value: number | string = 1, samplingRate = 1.0): void {
    this.send(`${this.prefix}${name}:-${value}|c|@${pyFloat(samplingRate)}`);
  }

  /** Statsd.timer: milliseconds, written as Python writes a float. */
  timer(name: string, value: number | string): void {
    this.send(`${this.prefix}${name}:${typeof value === 'number' ? pyFloat(value) : value}|ms`);
  }

  /** Statsd.histogram (Gunicorn 26): `|h`, the value as Python's str() writes it (an int here). */
  histogram(name: string, value: number | string): void {
    this.send(`${this.prefix}${name}:${typeof value === 'number' && !Number.isInteger(value) ? pyFloat(value) : value}|h`);
  }

  /** _sock_send: the dogstatsd tags go after every metric. */
  private send(line: string): void {
    try {
      this.sendDatagram(Buffer.from(this.tags ? `${line}|#${this.tags}` : line));
    } catch {
      // Metrics never take the server down.
    }
  }

  /** As an error-log sink: Statsd.critical/error/warning/exception count themselves. */
  count(kind: CountedKind): void {
    this.increment(`gunicorn.log.${kind}`, 1);
  }

  /** Statsd.log with extra={"metric", "value", "mtype"} (forwarded from Python's logging). */
  metric(mtype: string, name: string, value: string): void {
    if (mtype === 'gauge') this.gauge(name, value);
    else if (mtype === 'counter') this.increment(name, value);
    else if (mtype === 'histogram') this.histogram(name, value);
    else if (mtype === 'timer') this.timer(name, value);
  }

  /** Statsd.access: duration, then the request and its status. */
  readonly access: AccessSink = (r) => {
    this.timer('gunicorn.request.duration', durationMs(r.durationUs));
    this.increment('gunicorn.requests', 1);
    if (r.status) this.increment(`gunicorn.request.status.${r.status}`, 1);
  };

  close(): void {
    this.closeSocket();
  }
}

/**
 * The request metrics of this process's statsd client (ErrorLog.fromSettings
 * creates it from --statsd-host), or null. Gunicorn emits them for every
 * request, whether or not an access log is written.
 */
export function statsdAccessSink(log: ErrorLog): AccessSink | null {
  return log.statsd?.access ?? null;
}

const lastWorkerCount = new WeakMap<ErrorLog, number>();

/**
 * The arbiter's worker count, as Gunicorn's manage_workers reports it when it
 * changes: a debug line "N workers" and the gauge gunicorn.workers.
 */
export function reportWorkerCount(log: ErrorLog, count: number): void {
  if (lastWorkerCount.get(log) === count) return;
  lastWorkerCount.set(log, count);
  log.debug(`${count} workers`);
  log.statsd?.gauge('gunicorn.workers', count);
}
