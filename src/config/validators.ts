// Validators turn a raw value (a CLI string, or later a config-file value)
// into the setting's type, or throw a SettingError naming the problem.

export class SettingError extends Error {}

export function posInt(raw: unknown): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 0) throw new SettingError(`${JSON.stringify(raw)} is not a positive integer`);
  return n;
}

export function string(raw: unknown): string {
  if (typeof raw !== 'string') throw new SettingError(`${JSON.stringify(raw)} is not a string`);
  return raw.trim();
}

export function stringList(raw: unknown): string[] {
  const items = Array.isArray(raw) ? raw : [raw];
  return items.map(string);
}

/** A comma-separated list, as Gunicorn's --pythonpath takes it. */
export function commaList(raw: unknown): string[] {
  return string(raw).split(',').map((s) => s.trim()).filter(Boolean);
}

export function oneOf<T extends string>(choices: readonly T[]) {
  return (raw: unknown): T => {
    const s = string(raw).toLowerCase();
    if (!(choices as readonly string[]).includes(s)) {
      throw new SettingError(`${JSON.stringify(raw)} is not one of ${choices.join(', ')}`);
    }
    return s as T;
  };
}
