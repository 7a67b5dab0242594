// What the access log (and the metrics and syslog sinks) know about one
// finished request; the worker's I/O thread fills it in.

export interface AccessRecord {
  method: string;
  /** The request target as sent (Gunicorn's `U` is its path, `q` its query). */
  target: string;
  /** "1.0" or "1.1". */
  httpVersion: string;
  remoteAddress: string;
  /** Header names and values as received, alternating. */
  requestHeaders: readonly string[];
  /** 0 when no response was sent (the client left first). */
  status: number;
  /** Response header names and values, alternating, as sent. */
  responseHeaders: readonly string[];
  /** Body bytes written to the client. */
  bytesSent: number;
  /** When the request head arrived (ms since the epoch). */
  startedAt: number;
  /** How long the request took, in microseconds. */
  durationUs: number;
  /** The WSGI environ values the access-log format asks for ({name}e atoms). */
  environ: Readonly<Record<string, string>>;
}

/**
 * Anything that wants to hear about finished requests: the access log, statsd,
 * syslog. `line` is the access line as formatted (access_log_format), for the
 * sinks that send it on (syslog).
 */
export type AccessSink = (record: AccessRecord, line?: string) => void;
