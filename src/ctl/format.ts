// What `nicorn-py ctl` prints for each answer: Gunicorn 26.2.2's gunicornc
// formatters (gunicorn/ctl/cli.py format_*), character for character, with
// Python's str() of the values (2.0 stays 2.0: the protocol keeps floats).

import { PyFloat, pyFloatText, pyJson, type Json } from '../arbiter/control-protocol.js';
import { reprString } from '../config/validators.js';

type Obj = { [key: string]: Json };

const isObj = (v: Json | undefined): v is Obj => v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) && !(v instanceof PyFloat);

/** Python's repr() of a value json.loads made. */
export function pyRepr(v: Json | undefined): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (v instanceof PyFloat) return pyFloatText(v.value).replace('Infinity', 'inf').replace(/^NaN$/, 'nan');
  if (typeof v === 'string') return reprString(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${reprString(k)}: ${pyRepr(x)}`).join(', ')}}`;
}

/** Python's str(). */
export function pyStr(v: Json | undefined): string {
  return typeof v === 'string' ? v : pyRepr(v);
}

/** Python's truth value. */
function truthy(v: Json | undefined): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (v instanceof PyFloat) return v.value !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isObj(v)) return Object.keys(v).length > 0;
  return true;
}

/** f"{value:<width}": left-aligned, padded with spaces. */
const left = (v: Json | undefined, width: number) => pyStr(v).padEnd(width);

const num = (v: Json | undefined): number => (v instanceof PyFloat ? v.value : typeof v === 'number' ? v : Number(v));

/** data.get(key, default) */
const get = (d: Obj, key: string, dflt: Json): Json => (key in d ? d[key]! : dflt);

function heartbeatText(hb: Json | undefined): string {
  return hb !== null && hb !== undefined ? `${pyStr(hb)}s ago` : 'n/a';
}

export function formatWorkers(data: Obj): string {
  const workers = (get(data, 'workers', []) as Json[]).filter(isObj);
  if (workers.length === 0) return 'No workers running';
  const lines = [`${'PID'.padEnd(10)} ${'AGE'.padEnd(6)} ${'BOOTED'.padEnd(8)} LAST_BEAT`, '-'.repeat(40)];
  for (const w of workers) {
    const booted = truthy(w.booted) ? 'yes' : 'no';
    lines.push(`${left(get(w, 'pid', '?'), 10)} ${left(get(w, 'age', '?'), 6)} ${booted.padEnd(8)} ${heartbeatText(w.last_heartbeat)}`);
  }
  lines.push('', `Total: ${pyStr(get(data, 'count', workers.length))} workers`);
  return lines.join('\n');
}

export function formatDirty(data: Obj): string {
  if (!truthy(data.enabled)) return 'Dirty arbiter not running';
  const lines = [`Dirty arbiter PID: ${pyStr(data.pid)}`, ''];
  const workers = (get(data, 'workers', []) as Json[]).filter(isObj);
  if (workers.length) {
    lines.push('DIRTY WORKERS:', `${'PID'.padEnd(10)} ${'AGE'.padEnd(6)} ${'APPS'.padEnd(30)} LAST_BEAT`, '-'.repeat(60));
    for (const w of workers) {
      const apps = (get(w, 'apps', []) as Json[]).map(pyStr).join(', ').slice(0, 30);
      lines.push(`${left(get(w, 'pid', '?'), 10)} ${left(get(w, 'age', '?'), 6)} ${apps.padEnd(30)} ${heartbeatText(w.last_heartbeat)}`);
    }
    lines.push('');
  }
  const apps = (get(data, 'apps', []) as Json[]).filter(isObj);
  if (apps.length) {
    lines.push('DIRTY APPS:', `${'APP'.padEnd(30)} ${'WORKERS'.padEnd(10)} LIMIT`, '-'.repeat(50));
    for (const app of apps) {
      const limit = app.worker_count;
      const limitText = limit !== null && limit !== undefined ? pyStr(limit) : 'none';
      lines.push(`${pyStr(get(app, 'import_path', '?')).slice(0, 30).padEnd(30)} ${left(get(app, 'current_workers', 0), 10)} ${limitText}`);
    }
  }
  return lines.join('\n');
}

export function formatStats(data: Obj): string {
  const uptime = data.uptime;
  let uptimeText = 'unknown';
  if (truthy(uptime)) {
    const u = num(uptime);
    const hours = Math.trunc(Math.floor(u / 3600));
    const minutes = Math.trunc(Math.floor((u % 3600) / 60));
    const seconds = Math.trunc(u % 60);
    uptimeText = hours ? `${hours}h ${minutes}m ${seconds}s` : minutes ? `${minutes}m ${seconds}s` : `${seconds}s`;
  }
  const lines = [
    `Uptime:           ${uptimeText}`,
    `PID:              ${pyStr(get(data, 'pid', 'unknown'))}`,
    `Workers current:  ${pyStr(get(data, 'workers_current', 0))}`,
    `Workers target:   ${pyStr(get(data, 'workers_target', 0))}`,
    `Workers spawned:  ${pyStr(get(data, 'workers_spawned', 0))}`,
    `Workers killed:   ${pyStr(get(data, 'workers_killed', 0))}`,
    `Reloads:          ${pyStr(get(data, 'reloads', 0))}`,
  ];
  if (truthy(data.dirty_arbiter_pid)) lines.push(`Dirty arbiter:    ${pyStr(data.dirty_arbiter_pid)}`);
  return lines.join('\n');
}

export function formatListeners(data: Obj): string {
  const listeners = (get(data, 'listeners', []) as Json[]).filter(isObj);
  if (listeners.length === 0) return 'No listeners bound';
  const lines = [`${'ADDRESS'.padEnd(40)} ${'TYPE'.padEnd(8)} FD`, '-'.repeat(55)];
  for (const l of listeners) lines.push(`${left(get(l, 'address', '?'), 40)} ${left(get(l, 'type', '?'), 8)} ${pyStr(get(l, 'fd', '?'))}`);
  lines.push('', `Total: ${pyStr(get(data, 'count', listeners.length))} listeners`);
  return lines.join('\n');
}

export function formatConfig(data: Obj): string {
  return Object.keys(data)
    .sort()
    .map((key) => {
      const value = data[key]!;
      return `${key}: ${Array.isArray(value) ? value.map(pyStr).join(', ') : pyStr(value)}`;
    })
    .join('\n');
}

export function formatHelp(data: Obj): string {
  const commands = isObj(data.commands) ? data.commands : {};
  const names = Object.keys(commands).sort();
  const width = names.length ? Math.max(...names.map((n) => n.length)) : 0;
  return ['Available commands:', '', ...names.map((n) => `  ${n.padEnd(width + 2)} ${pyStr(commands[n])}`)].join('\n');
}

export function formatAll(data: Obj): string {
  const arbiter = isObj(data.arbiter) ? data.arbiter : {};
  const lines = ['ARBITER (master)', `  PID: ${pyStr(get(arbiter, 'pid', '?'))}`, ''];
  const web = (get(data, 'web_workers', []) as Json[]).filter(isObj);
  lines.push(`WEB WORKERS (${pyStr(get(data, 'web_worker_count', 0))})`);
  if (web.length) {
    lines.push(`  ${'PID'.padEnd(10)} ${'AGE'.padEnd(6)} ${'BOOTED'.padEnd(8)} LAST_BEAT`, `  ${'-'.repeat(38)}`);
    for (const w of web) {
      const booted = truthy(w.booted) ? 'yes' : 'no';
      lines.push(`  ${left(get(w, 'pid', '?'), 10)} ${left(get(w, 'age', '?'), 6)} ${booted.padEnd(8)} ${heartbeatText(w.last_heartbeat)}`);
    }
  } else lines.push('  (none)');
  lines.push('');
  const dirty = data.dirty_arbiter;
  if (truthy(dirty) && isObj(dirty)) {
    lines.push('DIRTY ARBITER', `  PID: ${pyStr(get(dirty, 'pid', '?'))}`, '');
    const dw = (get(data, 'dirty_workers', []) as Json[]).filter(isObj);
    lines.push(`DIRTY WORKERS (${pyStr(get(data, 'dirty_worker_count', 0))})`);
    if (dw.length) {
      lines.push(`  ${'PID'.padEnd(10)} ${'AGE'.padEnd(6)} APPS`, `  ${'-'.repeat(50)}`);
      for (const w of dw) {
        const apps = (get(w, 'apps', []) as Json[]).map(pyStr);
        if (apps.length) {
          lines.push(`  ${left(get(w, 'pid', '?'), 10)} ${left(get(w, 'age', '?'), 6)} ${apps[0]!.split(':').at(-1)}`);
          for (const app of apps.slice(1)) lines.push(`  ${''.padEnd(10)} ${''.padEnd(6)} ${app.split(':').at(-1)}`);
        } else lines.push(`  ${left(get(w, 'pid', '?'), 10)} ${left(get(w, 'age', '?'), 6)} (no apps)`);
      }
    } else lines.push('  (none)');
  } else lines.push('DIRTY ARBITER', '  (not running)');
  return lines.join('\n');
}

/** format_response: the command's words (without its numbers) pick the formatter; others print as JSON, or OK. */
export function formatResponse(command: string, data: Json): string {
  const d = isObj(data) ? data : {};
  switch (command.toLowerCase().trim()) {
    case 'show all':
      return formatAll(d);
    case 'show workers':
      return formatWorkers(d);
    case 'show dirty':
      return formatDirty(d);
    case 'show stats':
      return formatStats(d);
    case 'show listeners':
      return formatListeners(d);
    case 'show config':
      return formatConfig(d);
    case 'help':
      return formatHelp(d);
    default:
      return truthy(data) ? pyJson(data, 2) : 'OK';
  }
}
