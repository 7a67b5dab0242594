// The error log as Gunicorn writes it:
//   [2026-11-25 09:00:00 +0000] [1234] [INFO] Listening at: http://127.0.0.1:8000 (1234)
// python/nicorn/log.py writes the same format from the Python thread.

import fs from 'node:fs';

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** strftime('[%Y-%m-%d %H:%M:%S %z]') in local time. */
export function logTimestamp(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return (
    `[${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ` +
    `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}]`
  );
}

export class ErrorLog {
  private readonly threshold: number;

  constructor(level: LogLevel, private readonly fd = 2) {
    this.threshold = LOG_LEVELS.indexOf(level);
  }

  private write(level: LogLevel, msg: string): void {
    if (LOG_LEVELS.indexOf(level) < this.threshold) return;
    const line = `${logTimestamp(new Date())} [${process.pid}] [${level.toUpperCase()}] ${msg}\n`;
    try {
      fs.writeSync(this.fd, line);
    } catch {
      // A closed stderr must not take the server down.
    }
  }

  debug(msg: string): void { this.write('debug', msg); }
  info(msg: string): void { this.write('info', msg); }
  warning(msg: string): void { this.write('warning', msg); }
  error(msg: string): void { this.write('error', msg); }
  critical(msg: string): void { this.write('critical', msg); }
}
