// docs/settings.md, rendered from the registry (scripts/settings-doc.mjs
// writes it; a unit test fails when the file is stale). The layout follows
// Gunicorn's settings reference: by section, each setting with its flags,
// default and description, plus whether nicorn-py supports it yet.

import { bySection, metaOf, settingNames, specOf, takesValue, type AnySpec, type SettingName } from './registry.js';

/** The flags as Gunicorn's reference lists them: `-w INT` or `--workers INT`. */
export function flagTerms(name: SettingName): string[] {
  const s = specOf(name);
  return s.flags.map((f) => (takesValue(s) ? `${f} ${metaOf(name)}` : f));
}

function defaultBlock(s: AnySpec): string {
  if (s.defaultDoc.includes('\n')) return `- **Default:**\n\n  \`\`\`python\n${s.defaultDoc.replace(/^/gm, '  ')}\n  \`\`\``;
  return `- **Default:** \`${s.defaultDoc}\``;
}

function settingBlock(name: SettingName): string {
  const s = specOf(name);
  const lines = [`### \`${name}\``, ''];
  const terms = flagTerms(name);
  lines.push(
    terms.length
      ? `- **Command line:** ${terms.map((t) => `\`${t}\``).join(' or ')}`
      : `- **Command line:** none; ${s.hookArity !== undefined ? 'define it in the config file' : 'config file only'}`,
  );
  lines.push(defaultBlock(s));
  if (s.hookArity !== undefined) lines.push(`- **Arguments:** ${s.hookArity}`);
  lines.push(
    `- **nicorn-py:** ${s.nicornOnly ? "nicorn-py's own setting (Gunicorn has none)" : s.supported ? 'supported' : 'not supported yet (only the default is accepted)'}`,
  );
  lines.push('', s.desc, '');
  return lines.join('\n');
}

export function renderSettingsDoc(): string {
  const all = settingNames();
  const names = all.filter((n) => !specOf(n).nicornOnly);
  const supported = names.filter((n) => specOf(n).supported);
  const own = all.filter((n) => specOf(n).nicornOnly);
  const out: string[] = [
    '# Settings',
    '',
    '<!-- Generated from src/config/registry.ts by `npm run docs`. Do not edit by hand. -->',
    '',
    "This is an exhaustive list of Gunicorn's settings (as of Gunicorn 26.2.2) and what nicorn-py does with each. The",
    'setting name is what a configuration file uses; the command-line flags are listed as well. Some settings can',
    'only be set from a configuration file.',
    '',
    'Settings come from four places; a later one wins over an earlier one:',
    '',
    '1. the defaults listed here;',
    '2. the config file: `-c CONFIG`, or `./gunicorn.conf.py` in the directory nicorn-py is started in when there is one;',
    '3. the `GUNICORN_CMD_ARGS` environment variable, which takes every command-line flag, as in',
    '   `GUNICORN_CMD_ARGS="--bind=127.0.0.1 --workers=3" nicorn-py app:app`;',
    '4. the command line.',
    '',
    `nicorn-py supports ${supported.length} of Gunicorn's ${names.length} settings so far. A setting that is not supported`,
    'yet only accepts its default: any other value, from any source, stops nicorn-py with',
    '`Error: NAME is not supported by nicorn-py yet` (exit status 1) instead of being ignored.',
    '`nicorn-py --print-config APP_MODULE` prints every setting with the value it resolves to.',
    '',
    `nicorn-py adds ${own.length} setting${own.length === 1 ? '' : 's'} of its own, marked as such (Gunicorn has none of them):`,
    `${own.map((n) => `[\`${n}\`](#${n})`).join(', ')}.`,
    '',
    '| Section | Supported | Not supported yet |',
    '| --- | --- | --- |',
  ];
  const list = (ns: SettingName[]) => (ns.length ? ns.map((n) => `[\`${n}\`](#${n})`).join(', ') : '');
  for (const [section, ns] of bySection()) {
    out.push(`| ${section} | ${list(ns.filter((n) => specOf(n).supported))} | ${list(ns.filter((n) => !specOf(n).supported))} |`);
  }
  out.push('');
  for (const [section, ns] of bySection()) {
    out.push(`## ${section}`, '');
    if (section === 'Server Hooks') {
      out.push(
        'A hook is a function of that name in the config file, taking the arguments listed. nicorn-py runs the',
        "config file's hooks in a Pyodide interpreter: the arbiter's hooks in the arbiter, the worker's in the worker.",
        '',
      );
    }
    for (const n of ns) out.push(settingBlock(n));
  }
  return out.join('\n').replace(/\n+$/, '\n');
}
