// The lock file: exact versions and sha256 hashes, in pip's hash-checking
// requirements format (`name==version --hash=sha256:...`), so that pip
// and humans read it too. Read back, its pins are preferred and its hashes
// required: a file whose bytes changed since it was locked is refused.

import fs from 'node:fs';
import type { TargetPython } from './environment.js';
import { readRequirementsFile, RequirementError } from './requirements.js';
import type { Locked, Pin } from './resolver.js';
import { normalVersion } from './versions.js';

export interface LockEntry {
  key: string;
  name: string;
  version: string;
  sha256: string;
  filename: string;
  origin: string;
  requiredBy: string[];
}

export function lockEntries(pins: Map<string, Pin>, hashes: Map<string, string>): LockEntry[] {
  return [...pins.values()]
    .map((p) => ({
      key: p.key,
      name: p.name,
      version: normalVersion(p.version),
      sha256: hashes.get(p.key)!,
      filename: p.dist.filename,
      origin: p.dist.origin,
      requiredBy: p.requiredBy,
    }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

export function renderLock(entries: LockEntry[], target: TargetPython, inputs: string[]): string {
  const head = [
    `# Locked by nicorn-py install for Python ${target.pythonFullVersion} on Emscripten/wasm32 (Pyodide ${target.pyodideVersion}).`,
    `# From: ${inputs.join(', ') || 'the command line'}. \`nicorn-py install\` installs exactly these files (sha256 checked);`,
    '# `nicorn-py install --upgrade` resolves again.',
  ];
  const body = entries.map(
    (e) => `${e.key}==${e.version} \\\n    --hash=sha256:${e.sha256}\n    # ${e.filename} from ${e.origin}; required by ${e.requiredBy.join(', ')}`,
  );
  return `${head.join('\n')}\n${body.join('\n')}\n`;
}

/** The pins of an existing lock file (none when it does not exist). */
export function readLock(file: string): Map<string, Locked> {
  const out = new Map<string, Locked>();
  if (!fs.existsSync(file)) return out;
  for (const r of readRequirementsFile(file).requirements) {
    const pin = r.specifiers.length === 1 && r.specifiers[0]!.op === '==' && !r.specifiers[0]!.wildcard ? r.specifiers[0]!.version : null;
    if (!pin || r.hashes.length === 0) throw new RequirementError(`${r.source}: a lock entry must be name==version with --hash (got '${r.text}')`);
    out.set(r.key, { version: pin, hashes: r.hashes });
  }
  return out;
}
