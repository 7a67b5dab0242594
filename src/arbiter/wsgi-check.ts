// --check-wsgi, the arbiter's part: the directory each worker's Python writes
// its violations to (python/nicorn/check/record.py, one JSON file per worker
// pid, rewritten after each request that added to it), and the sum of those
// files: the summary table (at shutdown and on SIGPWR), the JSON report
// (--check-wsgi-report) and the exit status. Files, not IPC: what a worker saw
// survives the worker's crash or a SIGKILL at shutdown, and the bridge between
// the threads stays as it is.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Settings } from '../config/registry.js';
import type { ErrorLog } from '../log/error-log.js';
import { VERSION } from '../version.js';

/** The signal that prints the summary: Gunicorn gives SIGPWR no meaning (it is SIGINFO on some systems). */
export const SUMMARY_SIGNAL = 'SIGPWR';
/** The arbiter's exit status when violations were seen (and nothing worse happened). */
export const VIOLATIONS_EXIT = 1;

/** One rule's entry in a worker's file (record.py's Recorder). */
interface WorkerEntry {
  rule: string;
  explanation: string;
  cites: string;
  /** The server's duty, reported as advice: not counted in `total`, nor in the exit status. */
  advice: boolean;
  count: number;
  first: { time: number; request: string; location: string; detail: string };
  routes: string[];
}

/** One rule's line in the report: every worker's counts added up. */
export interface Violation {
  rule: string;
  explanation: string;
  cites: string;
  advice: boolean;
  count: number;
  first_request: string;
  location: string;
  detail: string;
  routes: string[];
}

export interface Report {
  server: string;
  /** Violations counted (advice left out): non-zero means exit status 1. */
  total: number;
  violations: Violation[];
}

const MAX_ROUTES = 20;

export class WsgiCheck {
  private constructor(readonly dir: string) {}

  /** A private directory the workers (after -u/-g) can write to. */
  static create(settings: Settings): WsgiCheck {
    const dir = fs.mkdtempSync(path.join(settings.worker_tmp_dir ?? os.tmpdir(), 'nicorn-check-'));
    if (process.geteuid?.() === 0) fs.chownSync(dir, settings.user, settings.group);
    return new WsgiCheck(dir);
  }

  /** Every worker's violations so far, added up per rule. */
  collect(): Report {
    const byRule = new Map<string, Violation & { time: number }>();
    for (const name of fs.readdirSync(this.dir)) {
      if (!/^worker-\d+\.json$/.test(name)) continue;
      let entries: WorkerEntry[];
      try {
        entries = (JSON.parse(fs.readFileSync(path.join(this.dir, name), 'utf8')) as { rules: WorkerEntry[] }).rules;
      } catch {
        continue;
      }
      for (const e of entries) {
        const v = byRule.get(e.rule);
        if (!v) {
          byRule.set(e.rule, {
            rule: e.rule,
            explanation: e.explanation,
            cites: e.cites,
            advice: e.advice === true,
            count: e.count,
            first_request: e.first.request,
            location: e.first.location,
            detail: e.first.detail,
            routes: [...e.routes],
            time: e.first.time,
          });
          continue;
        }
        v.count += e.count;
        for (const r of e.routes) if (!v.routes.includes(r) && v.routes.length < MAX_ROUTES) v.routes.push(r);
        if (e.first.time < v.time) {
          Object.assign(v, { first_request: e.first.request, location: e.first.location, detail: e.first.detail, time: e.first.time });
        }
      }
    }
    const violations = [...byRule.values()]
      .sort((a, b) => a.rule.localeCompare(b.rule))
      .map(({ time: _, ...v }) => v);
    const total = violations.reduce((n, v) => n + (v.advice ? 0 : v.count), 0);
    return { server: `nicorn-py ${VERSION}`, total, violations };
  }

  /** Logs the summary table and writes the report file (if one is asked for); returns the report. */
  report(log: ErrorLog, file: string | null): Report {
    const report = this.collect();
    if (report.violations.length > 0) log.warning(summaryTable(report));
    else log.info(summaryTable(report));
    if (file) {
      try {
        fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
      } catch (e) {
        log.error(`Cannot write the WSGI check report ${file}: ${(e as Error).message}`);
      }
    }
    return report;
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The summary as a table: one line per rule broken. */
export function summaryTable(report: Report): string {
  if (report.violations.length === 0) return 'WSGI check: no violations seen';
  const rows = report.violations.map((v) => [String(v.count), v.advice ? `${v.rule} (advice)` : v.rule, v.first_request, v.location]);
  const head = ['count', 'rule', 'first request', 'where'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const n = report.violations.filter((v) => !v.advice).length;
  const advice = report.violations.length - n;
  return [
    `WSGI check: ${report.total} violation${report.total === 1 ? '' : 's'} of ${n} rule${n === 1 ? '' : 's'}` +
      (advice ? `, and advice on ${advice} more` : ''),
    line(head),
    ...rows.map(line),
  ].join('\n');
}
