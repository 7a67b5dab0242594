// --reload, the arbiter's part: which files to watch, and noticing that one
// changed. Gunicorn runs a reloader thread in every worker, which exits the
// worker when a file changes (gunicorn/reloader.py, workers/base.py); the
// arbiter then forks a replacement that imports the code as it is now. Here
// the watching is done once, in the arbiter, so that the arbiter can boot
// the new workers *before* the old ones leave (no request meets a worker
// that is gone) and keep the old ones when the new code does not import.
//
// What is watched is what Gunicorn watches: the source files of the modules
// each worker's Python has imported (`sys.modules`, .pyc read as .py), which
// each worker writes to a file of its own in this directory (the report,
// python/nicorn/reload.py: after the app is imported and after a request
// that imported more), plus reload_extra_files, whose glob patterns are
// expanded again on every check (Gunicorn 26.1). A file first seen is only
// noted; a change of its modification time is a change, as in Gunicorn's
// poll reloader (which asks for a later time). Files, not IPC: the bridge between a worker's
// threads stays as it is (as --check-wsgi's records, wsgi-check.ts).
//
// Engines: 'poll' stats every file once a second, as Gunicorn's Reloader.
// 'inotify' and 'auto' add node's fs.watch on the files' directories (inotify
// on Linux; 'auto' means FSEvents or kqueue elsewhere, what node offers, as
// Gunicorn's auto means inotify when it can): an event in one of them checks
// that directory's files at once (within ~50 ms, instead of up to a second);
// the directory list is brought up to date once a second. A directory that
// cannot be watched (inotify's watch limit) is polled.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Settings } from '../config/registry.js';
import type { ErrorLog } from '../log/error-log.js';
import { globSync, isGlobPattern } from './glob.js';

const CHECK_MS = 1000;
/** Editors write a file in several steps (truncate, write, rename): events this close together are one change. */
const SETTLE_MS = 50;
const REPORT = /^modules-(\d+)\.json$/;

/** A worker's report (python/nicorn/reload.py). */
interface ModuleReport {
  files: string[];
  /** The app failed to import in that worker (its traceback is in the error log). */
  failed: boolean;
}

export class CodeWatcher {
  /** Modification time of every file seen, as first seen or at the last change. */
  private readonly mtimes = new Map<string, number>();
  /** Report files already read: the version read of each. */
  private readonly reports = new Map<string, string>();
  private readonly literal: string[];
  private readonly patterns: string[];
  private readonly watchers = new Map<string, fs.FSWatcher | null>();
  private ticker: NodeJS.Timeout | null = null;
  private settle: NodeJS.Timeout | null = null;
  /** How many files the last debug line said were watched. */
  private counted = 0;
  /** Directories with events since the last look. */
  private readonly touched = new Set<string>();
  private readonly useWatch: boolean;

  private constructor(
    readonly dir: string,
    private readonly settings: Settings,
    private readonly log: ErrorLog,
    private readonly onChange: (file: string) => void,
  ) {
    const extra = settings.reload_extra_files.map((f) => (isGlobPattern(f) ? f : path.resolve(settings.chdir, f)));
    this.literal = extra.filter((f) => !isGlobPattern(f));
    this.patterns = extra.filter(isGlobPattern);
    this.useWatch = settings.reload_engine !== 'poll';
  }

  /** The report directory, private, writable by the workers (after -u/-g). */
  static create(settings: Settings, log: ErrorLog, onChange: (file: string) => void): CodeWatcher {
    if (settings.reload_engine === 'inotify' && process.platform !== 'linux') {
      throw new Error(`reload_engine 'inotify' needs Linux's inotify (this is ${process.platform}); use 'auto' or 'poll'`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nicorn-reload-'));
    if (process.geteuid?.() === 0) fs.chownSync(dir, settings.user, settings.group);
    return new CodeWatcher(dir, settings, log, onChange);
  }

  start(): void {
    for (const p of this.patterns) {
      if (globSync(p, this.settings.chdir).length === 0) this.log.warning(`Pattern ${p} currently matches no files.`);
    }
    this.check();
    this.ticker = setInterval(() => this.check(), CHECK_MS);
    this.ticker.unref();
  }

  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    if (this.settle) clearTimeout(this.settle);
    for (const w of this.watchers.values()) w?.close();
    this.watchers.clear();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** A worker that is gone: its report goes (what it listed stays watched). */
  forget(pid: number): void {
    this.readReports();
    const file = path.join(this.dir, `modules-${pid}.json`);
    this.reports.delete(file);
    fs.rmSync(file, { force: true });
  }

  /** Whether the worker's report says the app did not load (--reload's SyntaxError page: the worker serves it). */
  failed(pid: number): boolean {
    return this.read(path.join(this.dir, `modules-${pid}.json`))?.failed ?? false;
  }

  /** Notes the files of reports new or rewritten since the last look (a worker that just booted, say). */
  readReports(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!REPORT.test(name)) continue;
      const file = path.join(this.dir, name);
      let version: string;
      try {
        // Each report is a new file (written aside, then renamed over the old one): its inode tells them apart.
        const st = fs.statSync(file);
        version = `${st.ino}:${st.mtimeMs}`;
      } catch {
        continue;
      }
      if (this.reports.get(file) === version) continue;
      this.reports.set(file, version);
      for (const f of this.read(file)?.files ?? []) this.see(f);
    }
  }

  private read(file: string): ModuleReport | null {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as ModuleReport;
    } catch {
      return null;
    }
  }

  private see(file: string): void {
    if (this.mtimes.has(file)) return;
    try {
      this.mtimes.set(file, fs.statSync(file).mtimeMs);
    } catch {
      // Gone already (or never a host file): nothing to watch.
    }
  }

  /**
   * Gunicorn's get_files, then one pass of its loop over the files: those new
   * are noted; the first changed one is reported. With fs.watch, only the
   * files no watcher covers are looked at here (their directories' events
   * look at the others at once).
   */
  check(): void {
    this.readReports();
    for (const f of this.literal) this.see(f);
    // Expanded on every check, so that files created since are watched too (first seen: noted, not a change).
    for (const p of this.patterns) for (const f of globSync(p, this.settings.chdir)) this.see(f);
    if (this.useWatch) this.watchDirs();
    if (this.mtimes.size !== this.counted) {
      this.counted = this.mtimes.size;
      this.log.debug(`Reloader: watching ${this.counted} files`);
    }
    this.compare((dir) => !this.useWatch || !this.watchers.get(dir));
  }

  /** Reports the first file (of the directories `which` picks) whose modification time is not the one noted. */
  private compare(which: (dir: string) => boolean): void {
    let changed: string | null = null;
    for (const [file, old] of this.mtimes) {
      if (!which(path.dirname(file))) continue;
      let mtime: number;
      try {
        mtime = fs.statSync(file).mtimeMs;
      } catch {
        continue;
      }
      // Gunicorn's poll reloader asks for a later time; any other time is a change too (a file put back from a copy).
      if (mtime !== old) {
        this.mtimes.set(file, mtime);
        changed ??= file;
      }
    }
    if (changed !== null) this.onChange(changed);
  }

  private watchDirs(): void {
    for (const file of this.mtimes.keys()) {
      const dir = path.dirname(file);
      if (this.watchers.has(dir)) continue;
      try {
        const w = fs.watch(dir, { persistent: false }, () => this.soon(dir));
        w.on('error', () => {
          w.close();
          this.watchers.set(dir, null);
        });
        this.watchers.set(dir, w);
      } catch (e) {
        // Polled instead, by the check every second.
        this.watchers.set(dir, null);
        this.log.debug(`Reloader: cannot watch ${dir} (${(e as Error).message}); it is polled`);
      }
    }
  }

  private soon(dir: string): void {
    this.touched.add(dir);
    if (this.settle) return;
    this.settle = setTimeout(() => {
      this.settle = null;
      const dirs = new Set(this.touched);
      this.touched.clear();
      this.compare((d) => dirs.has(d));
    }, SETTLE_MS);
    this.settle.unref();
  }
}
