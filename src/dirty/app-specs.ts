// dirty_apps entries: "module:Class" (every dirty worker loads it) or
// "module:Class:N" (only N workers do), as Gunicorn's parse_dirty_app_spec.

export interface DirtyAppSpec {
  /** "module:Class", the name clients call it by. */
  importPath: string;
  /** How many workers load it; null: all. */
  workers: number | null;
}

export class DirtyAppSpecError extends Error {}

export function parseDirtyAppSpec(spec: string): DirtyAppSpec {
  const parts = spec.split(':');
  const expected = "Expected 'module.path:ClassName' or 'module.path:ClassName:N'";
  if (parts.length === 2) return { importPath: spec, workers: null };
  if (parts.length !== 3) throw new DirtyAppSpecError(`Invalid import path format: ${spec}. ${expected}`);
  const [mod, cls, count] = parts as [string, string, string];
  if (!/^[+-]?\d+$/.test(count.trim())) {
    throw new DirtyAppSpecError(`Invalid worker count in spec: ${spec}. Expected integer, got '${count}'`);
  }
  const n = Number(count);
  if (n < 1) throw new DirtyAppSpecError(`Invalid worker count in spec: ${spec}. Worker count must be >= 1, got ${n}`);
  return { importPath: `${mod}:${cls}`, workers: n };
}

/** Python's repr of a list of str, as Gunicorn's log lines print app lists. */
export function pyList(items: string[]): string {
  return `[${items.map((s) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ')}]`;
}
