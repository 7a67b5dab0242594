// The shedding pace of one worker (src/worker/keepalive-spread.ts); the
// arbiter suite's 'workers under load' shows connections moving to another worker.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keepAliveSpread } from '../../src/worker/keepalive-spread.js';

test('no backlog, no shedding: a worker that keeps up keeps its connections', () => {
  let backlog = 1;
  const spread = keepAliveSpread(() => backlog);
  for (let t = 0; t < 1000; t += 10) assert.is(spread.shed(t), false);
  backlog = 2;
  assert.is(spread.shed(1000), true);
});

test('one connection per 50 ms at most, while the backlog lasts', () => {
  const spread = keepAliveSpread(() => 5);
  const shed = [0, 10, 49, 50, 60, 99, 100, 180].filter((t) => spread.shed(t));
  assert.equal(shed, [0, 50, 100, 180]);
});

test.run();
