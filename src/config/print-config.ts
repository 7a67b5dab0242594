// --print-config: Gunicorn's Config.__str__, line for line:
//
//     for k in sorted(self.settings):
//         v = self.settings[k].value
//         if callable(v): v = "<{}()>".format(v.__qualname__)
//         lines.append("{k:{kmax}} = {v}".format(k=k, v=v, kmax=kmax))
//
// Values are shown as Python's str() shows them: None, True, ['a', 'b'].

import { settingNames, specOf, type Settings } from './registry.js';
import { pyStr } from './validators.js';

/** Python's sorted() of str: by code point. */
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function renderConfig(settings: Settings): string {
  const names = settingNames().sort(byCodePoint);
  const kmax = Math.max(...names.map((n) => n.length));
  return names
    .map((name) => {
      const s = specOf(name);
      const value = (settings as Record<string, unknown>)[name];
      return `${name.padEnd(kmax)} = ${s.show ? s.show(value) : pyStr(value)}`;
    })
    .join('\n');
}
