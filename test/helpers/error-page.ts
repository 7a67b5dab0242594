// What the malformed-request suites (malformed: the sync worker; asgi-shared:
// -k asgi) check of every refused request: Gunicorn's error page, and that the
// app was not called (its call count, GET /__count of the counting fixture).
import * as assert from 'uvu/assert';
import { parseResponse, raw, type RawResult } from './http.js';
import { REASONS } from '../e2e/corpus/malformed.js';

/** Bytes as JSON, cut at `max` characters. */
export const show = (bytes: Buffer | string, max = 240) => {
  const s = typeof bytes === 'string' ? bytes : bytes.toString('latin1');
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}... (${s.length} bytes)` : s);
};

/** The app's call count, asked on a connection of its own. */
export async function calls(port: number): Promise<number> {
  const r = await raw(port, 'GET /__count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 3000);
  const n = Number(parseResponse(r.bytes).body.toString());
  if (!Number.isInteger(n)) throw new Error(`GET /__count answered ${show(r.text)}`);
  return n;
}

/** Checks Gunicorn's error page (util.write_error) and that nothing else came or stays open. */
export function assertErrorPage(r: RawResult, status: number, context: string): void {
  const reason = REASONS[status]!;
  const end = r.bytes.indexOf('\r\n\r\n');
  assert.ok(end > 0, `a response came back: ${context}`);
  const lines = r.bytes.subarray(0, end).toString('latin1').split('\r\n');
  assert.is(lines[0], `HTTP/1.1 ${status} ${reason}`, `status line: ${context}`);
  const names = lines.slice(1).map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
  assert.equal(names, ['connection', 'content-type', 'content-length'], `error page headers: ${context}`);
  assert.is(lines[1], 'Connection: close', context);
  assert.is(lines[2], 'Content-Type: text/html', context);
  const body = r.bytes.subarray(end + 4);
  assert.is(lines[3], `Content-Length: ${body.length}`, `one response and nothing after it: ${context}`);
  const page = body.toString('latin1');
  assert.ok(
    page.startsWith(`<html>\n  <head>\n    <title>${reason}</title>\n  </head>\n  <body>\n    <h1><p>${reason}</p></h1>\n`),
    `Gunicorn's error page: ${context}`,
  );
  assert.ok(page.endsWith('  </body>\n</html>\n'), `Gunicorn's error page ends: ${context}`);
  assert.ok(r.closedByServer, `the server closed the connection: ${context}`);
}
