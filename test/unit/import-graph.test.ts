// src/ has no import cycle. A cycle works in the bundle only because
// esbuild orders modules; imported another way (a test, a Node that strips
// types, someone's embedding) the module met first reads a `const` of
// the other before it is initialised. The one that existed:
// registry → error-log → syslog → settings → registry.

import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const SRC = path.resolve('src');

/** Each module's run-time imports (`import type` erases at build, so it cannot close a cycle). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const rel of fs.readdirSync(SRC, { recursive: true }).map(String)) {
    if (!rel.endsWith('.ts')) continue;
    const file = path.join(SRC, rel);
    const text = fs.readFileSync(file, 'utf8');
    const deps: string[] = [];
    const statements = [
      ...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'";]*?\bfrom\s+'(\.[^']+)'/gm),
      ...text.matchAll(/^\s*import\s+'(\.[^']+)'/gm),
    ];
    for (const [, spec] of statements) deps.push(path.resolve(path.dirname(file), spec!.replace(/\.js$/, '.ts')));
    graph.set(file, deps);
  }
  return graph;
}

function cycles(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 'open') found.push([...stack.slice(stack.indexOf(d)), d].map((p) => path.relative(SRC, p)).join(' → '));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return found;
}

test('the graph is read: registry imports the log levels, error-log imports syslog', () => {
  const graph = importGraph();
  assert.ok(graph.get(path.join(SRC, 'config/registry.ts'))!.includes(path.join(SRC, 'log/levels.ts')));
  assert.ok(graph.get(path.join(SRC, 'log/error-log.ts'))!.includes(path.join(SRC, 'log/syslog.ts')));
  assert.ok(graph.size > 50, `${graph.size} modules`);
});

test('no import cycle in src/', () => {
  assert.equal(cycles(importGraph()), []);
});

test('a cycle is found when there is one', () => {
  assert.equal(cycles(new Map([['/s/a.ts', ['/s/b.ts']], ['/s/b.ts', ['/s/c.ts']], ['/s/c.ts', ['/s/a.ts']]])).length, 1);
});

test.run();
