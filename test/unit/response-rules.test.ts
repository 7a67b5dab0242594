// Gunicorn 26's response rules (gunicorn/http/wsgi.py Response) as the front
// door applies them: which responses have no content, which lose their
// Content-Length, and the 103 Early Hints head.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { earlyHintsHead, forbidsContentLength, omitsBody } from '../../src/worker/front-door/response-rules.js';

test('no content on HEAD, 1xx, 204 and 304 (RFC 9110), whatever the app sends', () => {
  for (const status of [100, 103, 199, 204, 304]) assert.ok(omitsBody('GET', status), String(status));
  for (const status of [200, 201, 206, 301, 404, 500]) assert.not.ok(omitsBody('GET', status), String(status));
  assert.ok(omitsBody('HEAD', 200));
  assert.not.ok(omitsBody('head', 200), 'methods are case-sensitive');
});

test('Content-Length is off 1xx and 204 only; HEAD and 304 may carry the GET one (RFC 9110 8.6)', () => {
  assert.ok(forbidsContentLength(204));
  assert.ok(forbidsContentLength(100));
  assert.not.ok(forbidsContentLength(304));
  assert.not.ok(forbidsContentLength(200));
});

test('the 103 head: each pair as "name: value" with SP/HTAB stripped; an invalid pair sends nothing', () => {
  assert.is(
    earlyHintsHead(['Link', '</a.css>; rel=preload', 'X-B', ' \ttwo\t ']),
    'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nX-B: two\r\n\r\n',
  );
  assert.is(earlyHintsHead([]), 'HTTP/1.1 103 Early Hints\r\n\r\n');
  assert.is(earlyHintsHead(['Bad Name', 'x']), null);
  assert.is(earlyHintsHead(['X', 'a\r\nSet-Cookie: y']), null);
  assert.is(earlyHintsHead(['X', 'caf\xe9']), 'HTTP/1.1 103 Early Hints\r\nX: caf\xe9\r\n\r\n', 'obs-text passes (latin-1)');
});

test.run();
