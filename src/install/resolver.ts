// Picking one version of every package: newest first (the locked version
// first while it still fits), wheels the workers' Python can load only,
// environment markers and extras evaluated for it, backtracking on a conflict.
// A failure says which requirements could not be met together, who asked for
// each, and what exists.

import type { TargetPython } from './environment.js';
import type { Distribution, IndexClient } from './index-client.js';
import { evaluateMarker } from './markers.js';
import type { Requirement } from './requirements.js';
import { contains, parseSpecifiers, specifiersText } from './specifiers.js';
import { compareVersions, normalVersion, tryVersion, type Version } from './versions.js';
import { parseWheelName, tagRank, type CoreMetadata } from './wheels.js';

export interface Pin {
  key: string;
  name: string;
  version: Version;
  dist: Distribution;
  meta: CoreMetadata;
  extras: string[];
  /** Who asked for it ("requirements.txt line 2", "flask 3.1.1"). */
  requiredBy: string[];
}

export interface Locked {
  version: string;
  hashes: string[];
}

export class ResolutionError extends Error {}

interface Candidate {
  version: Version;
  dist: Distribution;
}

/** A demand on one package: a requirement and who made it. */
interface Demand {
  req: Requirement;
  from: string;
}

const MAX_STEPS = 5000;

export class Resolver {
  private steps = 0;
  /** Every demand seen per package, for the message when nothing fits. */
  private demands = new Map<string, Set<string>>();
  /** The package whose demands clashed, most recently. */
  private conflict: { key: string; why: string } | null = null;

  constructor(
    private client: IndexClient,
    private target: TargetPython,
    private locked: Map<string, Locked>,
  ) {}

  async resolve(roots: Requirement[]): Promise<Map<string, Pin>> {
    const wanted = roots.filter((r) => !r.marker || evaluateMarker(r.marker, this.target.markers));
    const result = await this.solve(
      wanted.map((req) => ({ req, from: req.source })),
      new Map(),
    );
    if (result) return result;
    throw new ResolutionError(await this.explain());
  }

  private note(key: string, d: Demand): void {
    let set = this.demands.get(key);
    if (!set) this.demands.set(key, (set = new Set()));
    set.add(`${d.req.text} (${d.from})`);
  }

  private async solve(queue: Demand[], pins: Map<string, Pin>): Promise<Map<string, Pin> | null> {
    if (queue.length === 0) return pins;
    if (++this.steps > MAX_STEPS) throw new ResolutionError(`gave up after ${MAX_STEPS} attempts to resolve the requirements${this.conflict ? `; the last conflict: ${this.conflict.why}` : ''}`);
    const [d, ...rest] = queue as [Demand, ...Demand[]];
    const key = d.req.key;
    this.note(key, d);
    const pin = pins.get(key);
    if (pin) {
      if (!this.fits(pin.version, d.req, pin.dist)) {
        this.conflict = { key, why: `${pin.name} ${pin.version.text} was chosen (for ${pin.requiredBy.join(', ')}), but ${d.from} requires ${d.req.text}` };
        return null;
      }
      const added = d.req.extras.filter((e) => !pin.extras.includes(e));
      const next = new Map(pins).set(key, { ...pin, extras: [...pin.extras, ...added], requiredBy: [...pin.requiredBy, d.from] });
      return this.solve([...rest, ...this.dependencies(pin.meta, pin, added, false)], next);
    }
    for (const c of await this.candidates(d.req)) {
      const meta = await this.client.metadata(c.dist, this.locked.get(key)?.version === normalVersion(c.version) ? this.locked.get(key)!.hashes : []);
      if (!this.pythonFits(meta.requiresPython)) {
        this.conflict ??= { key, why: `${d.req.name} ${c.version.text} requires Python ${meta.requiresPython} (the workers run ${this.target.pythonFullVersion})` };
        continue;
      }
      const newPin: Pin = { key, name: meta.name || d.req.name, version: c.version, dist: c.dist, meta, extras: d.req.extras, requiredBy: [d.from] };
      const result = await this.solve([...rest, ...this.dependencies(meta, newPin, d.req.extras, true)], new Map(pins).set(key, newPin));
      if (result) return result;
    }
    return null;
  }

  /** Requires-Python against the workers' Python; one that cannot be read does not exclude (pip warns and goes on). */
  private pythonFits(requiresPython: string | null): boolean {
    if (!requiresPython) return true;
    try {
      return contains(parseSpecifiers(requiresPython), tryVersion(this.target.pythonFullVersion)!, true);
    } catch {
      return true;
    }
  }

  /** A direct URL pins the file; else the version must meet the specifiers. */
  private fits(v: Version, req: Requirement, dist: Distribution): boolean {
    if (req.url) return req.url === dist.url || req.url.endsWith(dist.filename);
    return contains(req.specifiers, v, true);
  }

  /** Requirements of `meta` that apply here: markers true for this Python, with no extra or one of `extras`. */
  private dependencies(meta: CoreMetadata, pin: Pin, extras: string[], base: boolean): Demand[] {
    const env = this.target.markers;
    const from = `${pin.name} ${pin.version.text}`;
    return meta.requiresDist
      .filter((r) => {
        const always = !r.marker || evaluateMarker(r.marker, env, '');
        if (always) return base;
        return extras.some((e) => evaluateMarker(r.marker!, env, e));
      })
      .map((req) => ({ req, from: `${from}${extras.length && req.marker ? ` [${extras.join(',')}]` : ''}` }));
  }

  /** Loadable files of this project meeting the requirement, preferred first. */
  private async candidates(req: Requirement): Promise<Candidate[]> {
    if (req.url) {
      const filename = decodeURIComponent(req.url.split(/[\\/]/).pop()!.split('#')[0]!);
      const wheel = parseWheelName(filename);
      const sha = /sha256=([0-9a-f]{64})/.exec(req.url)?.[1] ?? null;
      if (!wheel) throw new ResolutionError(`${req.source}: ${req.url} is not a wheel; nicorn-py installs wheels only`);
      if (tagRank(wheel.tags, this.target.tags) < 0) throw new ResolutionError(`${req.source}: ${filename} is not built for ${this.describeTarget()}`);
      const url = req.url.split('#')[0]!;
      const dist: Distribution = { filename, url: url.startsWith('file://') ? new URL(url).pathname : url, sha256: sha, requiresPython: null, yanked: false, coreMetadata: false, origin: 'direct URL', wheel, version: wheel.version };
      return [{ version: tryVersion(wheel.version)!, dist }];
    }
    const all = await this.client.distributions(req.key);
    const byVersion = new Map<string, { version: Version; best: Distribution; rank: number }>();
    for (const dist of all) {
      if (!dist.wheel) continue;
      const version = tryVersion(dist.wheel.version);
      if (!version) continue;
      const rank = tagRank(dist.wheel.tags, this.target.tags);
      if (rank < 0) continue;
      if (!this.pythonFits(dist.requiresPython)) continue;
      const exact = req.specifiers.some((s) => (s.op === '==' || s.op === '===') && !s.wildcard);
      if (dist.yanked && !exact) continue;
      const k = normalVersion(version);
      const seen = byVersion.get(k);
      if (!seen || rank < seen.rank) byVersion.set(k, { version, best: dist, rank });
    }
    let matching = [...byVersion.values()].filter((c) => contains(req.specifiers, c.version));
    // Pre-releases only when nothing else fits (packaging's filter).
    if (matching.length === 0) matching = [...byVersion.values()].filter((c) => contains(req.specifiers, c.version, true));
    matching.sort((a, b) => compareVersions(b.version, a.version));
    const locked = this.locked.get(req.key);
    if (locked) {
      const i = matching.findIndex((c) => normalVersion(c.version) === locked.version);
      if (i > 0) matching.unshift(...matching.splice(i, 1));
    }
    if (matching.length === 0) this.conflict ??= { key: req.key, why: await this.nothingFits(req) };
    return matching.map((c) => ({ version: c.version, dist: c.best }));
  }

  private describeTarget(): string {
    return `Python ${this.target.pythonVersion} on Emscripten/wasm32 (Pyodide ${this.target.pyodideVersion})`;
  }

  /** Why a requirement has no candidate: no such project, no such version, only source or native files. */
  private async nothingFits(req: Requirement): Promise<string> {
    const all = await this.client.distributions(req.key);
    if (all.length === 0) return `no package named ${req.name} was found (looked in: ${this.sourcesText()})`;
    const versions = new Map<string, Distribution[]>();
    for (const d of all) if (d.version) versions.set(d.version, [...(versions.get(d.version) ?? []), d]);
    const inRange = [...versions.entries()].filter(([v]) => {
      const pv = tryVersion(v);
      return pv && contains(req.specifiers, pv, true);
    });
    if (inRange.length === 0) {
      return `no version of ${req.name} matches ${specifiersText(req.specifiers) || 'the requirement'} (versions found: ${[...versions.keys()].sort((a, b) => compareVersions(tryVersion(b)!, tryVersion(a)!)).join(', ')})`;
    }
    const [v, files] = inRange.sort(([a], [b]) => compareVersions(tryVersion(b)!, tryVersion(a)!))[0]!;
    const wheels = files.filter((f) => f.wheel);
    const tooNew = wheels.find((f) => tagRank(f.wheel!.tags, this.target.tags) >= 0 && !this.pythonFits(f.requiresPython));
    if (tooNew) return `${req.name} ${v} requires Python ${tooNew.requiresPython} (the workers run ${this.target.pythonFullVersion})`;
    const yanked = wheels.find((f) => tagRank(f.wheel!.tags, this.target.tags) >= 0 && f.yanked);
    if (yanked) return `${req.name} ${v} was yanked from its index (pin it with == to install it anyway)`;
    if (wheels.length === 0) {
      return `${req.name} ${v} has only a source distribution (${files.map((f) => f.filename).join(', ')}); nicorn-py installs wheels only (building one needs a host Python and, for compiled parts, a compiler for Pyodide)`;
    }
    return (
      `${req.name} ${v} has no wheel that ${this.describeTarget()} can load: ${wheels.map((f) => f.filename).join(', ')} ` +
      `(CPython builds for other platforms; their compiled parts cannot load in WebAssembly), and Pyodide's package index has no build of ${req.name}` +
      ` for this release. Use a pure-Python alternative, or build ${req.name} for Pyodide (pyodide build) and give the wheel with --find-links`
    );
  }

  private sourcesText(): string {
    return 'the configured indexes, --find-links and Pyodide\'s package index';
  }

  private async explain(): Promise<string> {
    const c = this.conflict;
    if (!c) return 'the requirements could not be resolved';
    const asked = [...(this.demands.get(c.key) ?? [])];
    const available = (await this.client.distributions(c.key))
      .filter((d) => d.wheel && tagRank(d.wheel.tags, this.target.tags) >= 0)
      .map((d) => d.version!)
      .filter((v, i, a) => a.indexOf(v) === i);
    return (
      `cannot install ${c.key}: ${c.why}.\n` +
      `Requirements on ${c.key}:\n${asked.map((a) => `  ${a}`).join('\n')}\n` +
      `Versions of ${c.key} with wheels for ${this.describeTarget()}: ${available.join(', ') || 'none'}`
    );
  }
}
